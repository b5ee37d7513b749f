//! What `astroglia models` prints of a registered model: its model-file table
//! with every default, its state variables with units and initial values, and
//! its receptors. All of it is read from the registry, so a new model is
//! described without a line here.
use super::NeuronModel;
use crate::model::Population;
use std::fmt::Write;

impl NeuronModel {
    /// A plain-text description of the model with these parameters: the
    /// model-file table with every field (defaults where not given), the state
    /// variables (unit, initial value when `init` does not set it) and how a
    /// weight on each receptor enters the state.
    ///
    /// ```
    /// use astroglia::model::{NeuronModel, LifCondParams};
    /// let text = NeuronModel::LifCond(LifCondParams::default()).describe();
    /// assert!(text.starts_with("lif_cond"));
    /// assert!(text.contains("exc   nS  -> ge"));
    /// ```
    pub fn describe(&self) -> String {
        let key = self.key();
        let mut s = format!("{key}\n");
        let pop = Population {
            name: String::new(),
            size: 1,
            model: self.explicit(),
            init: Default::default(),
            fixed_point: None,
        };
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(&pop) {
            if let Some(toml::Value::Table(params)) = t.get(key) {
                let _ = writeln!(s, "  parameters (model-file defaults):");
                for (k, v) in params {
                    let _ = writeln!(s, "    {k} = {v}");
                }
            }
        }
        let state = self.initial_state();
        if !state.is_empty() {
            let _ = writeln!(s, "  state (unit, initial value unless `init` sets it):");
            let w = state.iter().map(|(v, _)| v.name.len()).max().unwrap_or(0);
            for (var, x) in &state {
                let _ = writeln!(s, "    {:w$}  {:5} {x}", var.name, var.unit);
            }
        }
        match self.receptors() {
            Some(rs) => {
                let _ = writeln!(
                    s,
                    "  receptors (weight unit -> what the weight is added to):"
                );
                for r in rs {
                    let _ = writeln!(s, "    {:5} {:3} -> {}", r.name, r.unit, r.enters);
                }
            }
            None => {
                let _ = writeln!(s, "  a spike source: no state, receives no synapses");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters `describe` prints are a valid model-file table that reads
    /// back as the same model.
    #[test]
    fn printed_defaults_read_back_as_the_same_model() {
        for m in NeuronModel::defaults() {
            let text = m.describe();
            let params: Vec<&str> = text
                .lines()
                .skip_while(|l| !l.starts_with("  parameters"))
                .skip(1)
                .take_while(|l| l.starts_with("    "))
                .map(str::trim)
                .collect();
            let file = format!(
                "[[populations]]\nname = \"p\"\nsize = 1\n[populations.{}]\n{}\n",
                m.key(),
                params.join("\n")
            );
            #[derive(serde::Deserialize)]
            struct File {
                populations: Vec<Population>,
            }
            let back: File = toml::from_str(&file).unwrap_or_else(|e| panic!("{file}\n{e}"));
            assert_eq!(back.populations[0].model, m.explicit(), "{file}");
            assert_eq!(
                back.populations[0].model.initial_state(),
                m.initial_state(),
                "{}",
                m.key()
            );
        }
    }
}
