//! astroglia's errors as the exception classes of `astroglia.errors` (pure
//! Python, so that a class can also derive from `KeyError`, `ValueError`,
//! `OSError` or `ArithmeticError`). [`py_err`] is the one mapping.
use astroglia::Error;
use astroglia::error::ModelIssue;
use pyo3::BoundObject;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// An exception of class `class` (of `astroglia.errors`) with `message` and
/// the attributes `attrs`.
pub fn raise(py: Python<'_>, class: &str, message: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let make = || -> PyResult<PyErr> {
        let cls = py.import("astroglia.errors")?.getattr(class)?;
        let exc = cls.call1((message.clone(),))?;
        for (k, v) in attrs {
            exc.setattr(*k, v.bind(py))?;
        }
        Ok(PyErr::from_value(exc))
    };
    match make() {
        Ok(e) => e,
        // Only when astroglia.errors cannot be imported (the extension loaded
        // outside its package).
        Err(e) => PyRuntimeError::new_err(format!("{message} (astroglia.errors: {e})")),
    }
}

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> Py<PyAny> {
    match v.into_pyobject(py) {
        Ok(o) => o.into_any().unbind(),
        Err(_) => py.None(),
    }
}

/// The issues of a model, rules or experiment file as a list of dicts
/// `{"line", "column", "field", "message"}` (line and column may be None).
fn issues(py: Python<'_>, issues: &[ModelIssue]) -> Py<PyAny> {
    let list: Vec<Py<PyAny>> = issues
        .iter()
        .map(|i| {
            let d = PyDict::new(py);
            let _ = d.set_item("line", i.line);
            let _ = d.set_item("column", i.column);
            let _ = d.set_item("field", &i.field);
            let _ = d.set_item("message", &i.message);
            d.into_any().unbind()
        })
        .collect();
    obj(py, list)
}

/// The Python exception for an astroglia error. Variants not named here (new
/// ones: `Error` is `#[non_exhaustive]`) raise the base class `AstrogliaError`.
pub fn py_err(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    let kind = |k: &str| ("kind", obj(py, k));
    match &err {
        Error::Model {
            source_name,
            issues: i,
        }
        | Error::Rules {
            source_name,
            issues: i,
        }
        | Error::Experiment {
            source_name,
            issues: i,
        } => {
            let k = match &err {
                Error::Model { .. } => "model",
                Error::Rules { .. } => "rules",
                _ => "experiment",
            };
            raise(
                py,
                "ModelError",
                message,
                &[
                    kind(k),
                    ("source", obj(py, source_name)),
                    ("issues", issues(py, i)),
                ],
            )
        }
        Error::Unknown {
            kind: k,
            name,
            known,
        } => raise(
            py,
            "UnknownNameError",
            message,
            &[
                kind(k),
                ("name", obj(py, name)),
                ("known", obj(py, known.clone())),
            ],
        ),
        Error::Argument { what, .. } | Error::Length { what, .. } | Error::Range { what, .. } => {
            raise(py, "ArgumentError", message, &[("what", obj(py, what))])
        }
        Error::Setting { setting, .. } => {
            raise(py, "ArgumentError", message, &[("what", obj(py, setting))])
        }
        // An index past the end, a call on the wrong kind of population or
        // projection, parts that do not belong together.
        Error::NoIndex { kind: what, .. } | Error::Incompatible { what, .. } => {
            raise(py, "ArgumentError", message, &[("what", obj(py, *what))])
        }
        Error::WrongKind { what, .. } => {
            raise(py, "ArgumentError", message, &[("what", obj(py, what))])
        }
        Error::Data { path, offset, .. } => raise(
            py,
            "DataError",
            message,
            &[
                ("path", obj(py, path.display().to_string())),
                ("offset", obj(py, *offset)),
            ],
        ),
        Error::Io { path, source, .. } => {
            let errno = source.as_ref().and_then(|s| s.raw_os_error());
            raise(
                py,
                "AstrogliaIOError",
                message,
                &[
                    ("filename", obj(py, path.display().to_string())),
                    ("errno", obj(py, errno)),
                ],
            )
        }
        Error::Gpu(_) => raise(py, "GpuError", message, &[]),
        Error::MissingFeature { feature, .. } => raise(
            py,
            "MissingFeatureError",
            message,
            &[("feature", obj(py, *feature))],
        ),
        Error::NonFinite {
            population,
            var,
            step,
        } => raise(
            py,
            "NonFiniteError",
            message,
            &[
                ("population", obj(py, population)),
                ("var", obj(py, var)),
                ("step", obj(py, *step)),
            ],
        ),
        Error::Resources(_) => raise(py, "ResourceError", message, &[]),
        Error::Nir(_) => raise(py, "NirError", message, &[]),
        Error::Readout(_) => raise(py, "ReadoutError", message, &[]),
        Error::RecordingFull { .. } => raise(py, "RecordingFullError", message, &[]),
        _ => raise(py, "AstrogliaError", message, &[]),
    }
}
