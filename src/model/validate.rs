//! Semantic checks of a [`Network`]: every problem is reported with its field path.
use super::{Connect, Dist, Input, MAX_NEURONS, MAX_SYNAPSES, Network, NeuronModel, Sign};
use crate::error::ModelIssue;
use std::collections::HashMap;

struct Ctx<'a> {
    net: &'a Network,
    issues: Vec<ModelIssue>,
    sizes: HashMap<&'a str, (usize, u32)>,
}

impl Ctx<'_> {
    fn push(&mut self, field: String, message: String) {
        self.issues.push(ModelIssue {
            line: None,
            column: None,
            field,
            message,
        });
    }

    /// Resolves a population name; reports it when unknown.
    fn pop(&mut self, field: String, name: &str) -> Option<(usize, u32)> {
        let found = self.sizes.get(name).copied();
        if found.is_none() {
            let known: Vec<&str> = self
                .net
                .populations
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            self.push(
                field,
                format!("unknown population '{name}' (known: {})", known.join(", ")),
            );
        }
        found
    }

    fn ids(&mut self, field: String, ids: &Option<Vec<u32>>, size: u32) {
        if let Some(ids) = ids {
            if let Some(bad) = ids.iter().find(|&&i| i >= size) {
                self.push(
                    field,
                    format!("index {bad} out of range for a population of {size}"),
                );
            }
        }
    }
}

/// Why weights delivered to `receptor` of a user model would be lost: the
/// model has no statement for it.
fn missing_receptor(model: &NeuronModel, receptor: super::Receptor) -> Option<String> {
    let NeuronModel::User(u) = model else {
        return None;
    };
    let spec = u.spec.as_ref()?;
    let name = match receptor {
        super::Receptor::Exc => "exc",
        super::Receptor::Inh => "inh",
    };
    (!spec.receptors.contains_key(name)).then(|| {
        format!(
            "neuron model '{}' has no '{name}' receptor (its receptors: {}); add `receptors = {{ {name} = \"...\" }}` to it or set receptor",
            spec.name,
            if spec.receptors.is_empty() {
                "none".to_string()
            } else {
                spec.receptors.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        )
    })
}

/// Returns every problem found (empty when the network is valid).
pub fn validate(net: &Network) -> Vec<ModelIssue> {
    let mut c = Ctx {
        net,
        issues: vec![],
        sizes: HashMap::new(),
    };
    if !(net.dt_ms > 0.0 && net.dt_ms.is_finite()) {
        c.push(
            "dt_ms".into(),
            format!("must be a positive number of ms, got {}", net.dt_ms),
        );
    }
    if !(net.duration_ms >= 0.0 && net.duration_ms.is_finite()) {
        c.push(
            "duration_ms".into(),
            format!("must be >= 0 ms, got {}", net.duration_ms),
        );
    } else if net.dt_ms > 0.0 && net.dt_ms.is_finite() {
        if let Err(e) = super::duration_steps("duration_ms", net.duration_ms, net.dt_ms) {
            c.push("duration_ms".into(), e.replacen("duration_ms = ", "", 1));
        }
    }
    if net.populations.is_empty() {
        c.push(
            "populations".into(),
            "the model has none; it needs at least one [[populations]] table".into(),
        );
    }
    let dt = if net.dt_ms > 0.0 { net.dt_ms } else { 1.0 };
    // User-written models: unique names, and every compile error at its field.
    let models = net
        .neuron_models
        .iter()
        .map(|m| ("neuron", m.name.as_str(), m.compile(dt).err()))
        .enumerate()
        .chain(
            net.synapse_models
                .iter()
                .map(|m| ("synapse", m.name.as_str(), m.compile().err()))
                .enumerate(),
        );
    let mut seen: Vec<(&str, &str)> = vec![];
    for (i, (kind, name, errors)) in models {
        let f = format!("{kind}_models[{i}]");
        if seen.contains(&(kind, name)) {
            c.push(
                format!("{f}.name"),
                format!("duplicate {kind} model name '{name}'"),
            );
        }
        seen.push((kind, name));
        for e in errors.unwrap_or_default() {
            let message = if e.error.span == Default::default() {
                e.error.message
            } else {
                e.error.to_string()
            };
            c.push(format!("{f}.{}", e.field), message);
        }
    }
    let neurons: u64 = net.populations.iter().map(|p| u64::from(p.size)).sum();
    if neurons > MAX_NEURONS {
        c.push(
            "populations".into(),
            format!(
                "{neurons} neurons in all, more than the {MAX_NEURONS} a network holds \
                 (neuron ids are u32)"
            ),
        );
    }
    for (i, p) in net.populations.iter().enumerate() {
        let f = format!("populations[{i}]");
        if p.name.is_empty() {
            c.push(format!("{f}.name"), "must not be empty".into());
        }
        if c.sizes.insert(p.name.as_str(), (i, p.size)).is_some() {
            c.push(
                format!("{f}.name"),
                format!("duplicate population name '{}'", p.name),
            );
        }
        if p.size == 0 {
            c.push(format!("{f}.size"), "must be at least 1".into());
        }
        let key = p.model.key();
        let param_issues = p.model.check(p.size, dt);
        for (field, msg) in param_issues {
            c.push(format!("{f}.{field}"), msg);
        }
        if let Some(fp) = &p.fixed_point {
            if !matches!(p.model, NeuronModel::Lif(_)) {
                c.push(
                    format!("{f}.fixed_point"),
                    format!("only 'lif' populations have a fixed-point mode, not '{key}'"),
                );
            }
            for (field, msg) in fp.check() {
                c.push(format!("{f}.fixed_point.{field}"), msg);
            }
            if let NeuronModel::Lif(l) = &p.model {
                if l.input_order != crate::neuron::InputOrder::BeforeThreshold {
                    c.push(
                        format!("{f}.lif.input_order"),
                        "the fixed-point mode has only \"before_threshold\"".into(),
                    );
                }
                if l.refractory_input {
                    c.push(
                        format!("{f}.lif.refractory_input"),
                        "the fixed-point mode has only false (input dropped while refractory)"
                            .into(),
                    );
                }
            }
        }
        let vars = p.model.state_vars();
        let label = match &p.model {
            NeuronModel::User(u) => u.model.as_str(),
            _ => key,
        };
        for (var, d) in &p.init {
            if !vars.contains(var) {
                c.push(
                    format!("{f}.init.{var}"),
                    format!(
                        "'{label}' has no state variable '{var}' (it has: {})",
                        vars.join(", ")
                    ),
                );
            } else if let Err(e) = d.check() {
                c.push(format!("{f}.init.{var}"), e);
            }
        }
    }

    let mut on_grid: HashMap<&str, usize> = HashMap::new();
    for (gi, g) in net.grids.iter().enumerate() {
        let f = format!("grids[{gi}]");
        let mut total: u128 = 0;
        for (k, name) in g.populations.iter().enumerate() {
            if let Some((_, size)) = c.pop(format!("{f}.populations[{k}]"), name) {
                total += size as u128;
                if on_grid.insert(name.as_str(), gi).is_some() {
                    c.push(
                        format!("{f}.populations[{k}]"),
                        format!("population '{name}' is on more than one grid"),
                    );
                }
            }
        }
        let cells: u128 = g.shape.iter().map(|&s| s as u128).product();
        if cells != total {
            c.push(
                format!("{f}.shape"),
                format!(
                    "{:?} has {cells} points but its populations hold {total} neurons",
                    g.shape
                ),
            );
        }
        if !(g.spacing > 0.0 && g.spacing.is_finite()) {
            c.push(
                format!("{f}.spacing"),
                format!("must be positive, got {}", g.spacing),
            );
        }
    }

    for (i, pr) in net.projections.iter().enumerate() {
        let f = format!("projections[{i}]");
        let pre = c.pop(format!("{f}.from"), &pr.from);
        let post = c.pop(format!("{f}.to"), &pr.to);
        if let Some((pi, _)) = post {
            if net.populations[pi].model.is_source() {
                c.push(
                    format!("{f}.to"),
                    format!("'{}' is a spike source and cannot receive synapses", pr.to),
                );
            }
        }
        if let Err(e) = pr.weight.check() {
            c.push(format!("{f}.weight"), e);
        }
        if let Some(rule) = &pr.plasticity {
            for (field, msg) in rule.check() {
                c.push(format!("{f}.plasticity.{}.{field}", rule.key()), msg);
            }
            if let Some((pi, _)) = post {
                if net.populations[pi].fixed_point.is_some() {
                    c.push(
                        format!("{f}.plasticity"),
                        format!(
                            "'{}' runs in fixed point, which has no plastic synapses",
                            pr.to
                        ),
                    );
                }
            }
        }
        if let Some(d) = pr.delay_ms {
            match d.check() {
                Err(e) => c.push(format!("{f}.delay_ms"), e),
                Ok(()) => {
                    if let Some(v) = d.constant() {
                        if v < dt * (1.0 - 1e-9) {
                            c.push(
                                format!("{f}.delay_ms"),
                                format!("must be at least one step (dt_ms = {dt}), got {v}"),
                            );
                        }
                    }
                    let high = match d {
                        Dist::Const(v) => v,
                        Dist::Uniform { high, .. } => high,
                        _ => 0.0,
                    };
                    if let Some(e) = too_long_delay(high, dt) {
                        c.push(format!("{f}.delay_ms"), e);
                    }
                }
            }
        }
        let same = pr.from == pr.to;
        let (Some((_, n_pre)), Some((post_idx, n_post))) = (pre, post) else {
            continue;
        };
        let cf = format!("{f}.connect");
        // Rows index their synapses with u32; a random rule gets room for ten
        // standard deviations above its mean.
        let n = crate::build::memory::projection_synapses(net, pr).unwrap_or(0.0);
        if n + 10.0 * n.sqrt() > MAX_SYNAPSES as f64 {
            c.push(
                cf.clone(),
                format!(
                    "makes about {n:.3e} synapses, more than the {MAX_SYNAPSES} a projection \
                     holds; split it into several projections"
                ),
            );
        }
        match &pr.connect {
            Connect::AllToAll { .. } => {}
            Connect::OneToOne {} => {
                if n_pre != n_post {
                    c.push(
                        cf,
                        format!("one_to_one needs equal sizes, got {n_pre} and {n_post}"),
                    );
                }
            }
            Connect::FixedProbability { p, .. } => {
                if !(0.0..=1.0).contains(p) {
                    c.push(
                        format!("{cf}.fixed_probability.p"),
                        format!("must be in [0, 1], got {p}"),
                    );
                }
            }
            Connect::FixedIndegree { k, allow_self } => {
                let avail = if same && !allow_self {
                    n_pre.saturating_sub(1)
                } else {
                    n_pre
                };
                if *k > avail {
                    c.push(
                        format!("{cf}.fixed_indegree.k"),
                        format!("{k} exceeds the {avail} available presynaptic neurons"),
                    );
                }
            }
            Connect::FixedOutdegree { k, allow_self } => {
                let avail = if same && !allow_self {
                    n_post.saturating_sub(1)
                } else {
                    n_post
                };
                if *k > avail {
                    c.push(
                        format!("{cf}.fixed_outdegree.k"),
                        format!("{k} exceeds the {avail} available postsynaptic neurons"),
                    );
                }
            }
            Connect::Distance { c: cc, lambda, .. } => {
                if !(0.0..=1.0).contains(cc) {
                    c.push(
                        format!("{cf}.distance.c"),
                        format!("must be in [0, 1], got {cc}"),
                    );
                }
                if !(*lambda > 0.0 && lambda.is_finite()) {
                    c.push(
                        format!("{cf}.distance.lambda"),
                        format!("must be positive, got {lambda}"),
                    );
                }
                let names: &[&String] = if same {
                    &[&pr.from]
                } else {
                    &[&pr.from, &pr.to]
                };
                for name in names {
                    if !on_grid.contains_key(name.as_str()) {
                        c.push(
                            cf.clone(),
                            format!("distance rule needs '{name}' on a grid (add it to [[grids]])"),
                        );
                    }
                }
            }
            Connect::List {
                pre,
                post,
                weights,
                delays_ms,
            } => {
                let lf = format!("{cf}.list");
                if pre.len() != post.len() {
                    c.push(
                        format!("{lf}.post"),
                        format!("has {} entries but pre has {}", post.len(), pre.len()),
                    );
                }
                if let Some(b) = pre.iter().find(|&&x| x >= n_pre) {
                    c.push(
                        format!("{lf}.pre"),
                        format!("index {b} out of range for '{}' of size {n_pre}", pr.from),
                    );
                }
                if let Some(b) = post.iter().find(|&&x| x >= n_post) {
                    c.push(
                        format!("{lf}.post"),
                        format!("index {b} out of range for '{}' of size {n_post}", pr.to),
                    );
                }
                if let Some(w) = weights {
                    if w.len() != pre.len() {
                        c.push(
                            format!("{lf}.weights"),
                            format!("has {} entries, expected {}", w.len(), pre.len()),
                        );
                    }
                }
                if let Some(d) = delays_ms {
                    if d.len() != pre.len() {
                        c.push(
                            format!("{lf}.delays_ms"),
                            format!("has {} entries, expected {}", d.len(), pre.len()),
                        );
                    }
                    if let Some(b) = d.iter().find(|&&x| !(x >= dt * (1.0 - 1e-9))) {
                        c.push(
                            format!("{lf}.delays_ms"),
                            format!("must be at least one step (dt_ms = {dt}), got {b}"),
                        );
                    }
                    if let Some(e) = d.iter().find_map(|&x| too_long_delay(x, dt)) {
                        c.push(format!("{lf}.delays_ms"), e);
                    }
                }
            }
            Connect::File { path, projection } => {
                if path.as_os_str().is_empty() {
                    c.push(
                        format!("{cf}.file.path"),
                        "must name an HDF5 connectivity file".into(),
                    );
                }
                if let Some(g) = projection {
                    if g.is_empty() || g.contains('/') || g.contains('\0') {
                        c.push(
                            format!("{cf}.file.projection"),
                            format!("must be a group name under /projections (non-empty, no '/'), got {g:?}"),
                        );
                    }
                }
            }
        }
        let post_model = &net.populations[post_idx].model;
        let loihi_post = matches!(post_model, NeuronModel::LoihiLif(_));
        if let Some(l) = &pr.loihi {
            if !loihi_post {
                c.push(
                    format!("{f}.loihi"),
                    format!(
                        "'{}' is {}: a `loihi` table is for projections onto loihi_lif",
                        pr.to,
                        post_model.key()
                    ),
                );
            }
            for (field, msg) in l.check() {
                c.push(format!("{f}.loihi.{field}"), msg);
            }
        }
        if loihi_post && pr.plasticity.is_some() {
            c.push(
                format!("{f}.plasticity"),
                format!(
                    "'{}' is loihi_lif, whose synapses (Lava's bit-accurate Dense) are static",
                    pr.to
                ),
            );
        }
        if let Some(e) = missing_receptor(post_model, pr.resolved_receptor()) {
            c.push(format!("{f}.receptor"), e);
        }
        if post_model.conductance_weights() && pr.sign != Sign::Positive {
            let lo = match &pr.connect {
                Connect::List {
                    weights: Some(w), ..
                } => w.iter().cloned().fold(f64::INFINITY, f64::min),
                _ => pr.weight.bounds().0,
            };
            if lo < 0.0 {
                c.push(
                    format!("{f}.weight"),
                    format!("conductance weights (nS) onto {} '{}' must be >= 0; use receptor = \"inh\" for inhibition", post_model.key(), pr.to),
                );
            }
        }
    }

    for (i, inp) in net.inputs.iter().enumerate() {
        let (kind, target, ids) = match inp {
            Input::Noise(x) => ("noise", &x.target, &x.ids),
            Input::Current(x) => ("current", &x.target, &x.ids),
            Input::Poisson(x) => ("poisson", &x.target, &x.ids),
        };
        let f = format!("inputs[{i}].{kind}");
        if let Some((pi, size)) = c.pop(format!("{f}.target"), target) {
            if matches!(net.populations[pi].model, NeuronModel::LoihiLif(_))
                && !matches!(inp, Input::Poisson(_))
            {
                c.push(
                    format!("{f}.target"),
                    format!(
                        "'{target}' is loihi_lif, which takes no current (Loihi has none): \
                         drive it with bias_mant or spikes"
                    ),
                );
            }
            if net.populations[pi].model.is_source() {
                let what = match inp {
                    Input::Poisson(_) => "input",
                    _ => "current",
                };
                c.push(
                    format!("{f}.target"),
                    format!("'{target}' is a spike source and takes no {what}"),
                );
            }
            c.ids(format!("{f}.ids"), ids, size);
            if let Input::Poisson(x) = inp {
                let model = &net.populations[pi].model;
                if let Some(e) = missing_receptor(model, x.resolved_receptor()) {
                    c.push(format!("{f}.receptor"), e);
                }
                if model.conductance_weights() && x.weight < 0.0 {
                    c.push(
                        format!("{f}.weight"),
                        format!(
                            "conductance weights (nS) onto {} '{target}' must be >= 0; use \
                             receptor = \"inh\" for inhibition",
                            model.key()
                        ),
                    );
                }
            }
        }
        match inp {
            Input::Noise(x) => {
                if !(x.std >= 0.0 && x.std.is_finite()) {
                    c.push(format!("{f}.std"), format!("must be >= 0, got {}", x.std));
                }
                if !x.mean.is_finite() {
                    c.push(
                        format!("{f}.mean"),
                        format!("must be finite, got {}", x.mean),
                    );
                }
            }
            Input::Poisson(x) => {
                if x.n == 0 {
                    c.push(format!("{f}.n"), "must be at least 1".into());
                }
                let p = x.rate_hz * dt / 1000.0;
                if !(x.rate_hz >= 0.0 && x.rate_hz.is_finite()) {
                    c.push(
                        format!("{f}.rate_hz"),
                        format!("must be >= 0 Hz, got {}", x.rate_hz),
                    );
                } else if p > 1.0 {
                    c.push(
                        format!("{f}.rate_hz"),
                        format!(
                            "{} Hz is more than one spike per step of {dt} ms (rate_hz · dt_ms / 1000 = {p} > 1)",
                            x.rate_hz
                        ),
                    );
                } else if let Err(e) = crate::rng::BinomialTable::new(x.n, p) {
                    c.push(format!("{f}.n"), e);
                }
                if !x.weight.is_finite() {
                    c.push(
                        format!("{f}.weight"),
                        format!("must be finite, got {}", x.weight),
                    );
                }
                if let Some(ids) = &x.ids {
                    let mut seen = std::collections::HashSet::new();
                    if let Some(d) = ids.iter().find(|&&i| !seen.insert(i)) {
                        c.push(format!("{f}.ids"), format!("index {d} is listed twice"));
                    }
                }
            }
            Input::Current(x) => {
                if !x.amplitude.is_finite() {
                    c.push(
                        format!("{f}.amplitude"),
                        format!("must be finite, got {}", x.amplitude),
                    );
                }
                if !(x.start_ms >= 0.0) {
                    c.push(
                        format!("{f}.start_ms"),
                        format!("must be >= 0, got {}", x.start_ms),
                    );
                }
                if let Some(s) = x.stop_ms {
                    if !(s >= x.start_ms) {
                        c.push(
                            format!("{f}.stop_ms"),
                            format!("must be >= start_ms, got {s}"),
                        );
                    }
                }
            }
        }
    }

    if let Some(sm) = &net.monitors.spikes {
        for (i, m) in sm.iter().enumerate() {
            if let Some((_, size)) =
                c.pop(format!("monitors.spikes[{i}].population"), &m.population)
            {
                c.ids(format!("monitors.spikes[{i}].ids"), &m.ids, size);
            }
        }
    }
    for (i, m) in net.monitors.state.iter().enumerate() {
        let f = format!("monitors.state[{i}]");
        if let Some((pi, size)) = c.pop(format!("{f}.population"), &m.population) {
            let vars = net.populations[pi].model.state_vars();
            if !vars.contains(&m.var) {
                c.push(
                    format!("{f}.var"),
                    format!(
                        "'{}' has no state variable '{}' (it has: {})",
                        m.population,
                        m.var,
                        vars.join(", ")
                    ),
                );
            }
            c.ids(format!("{f}.ids"), &m.ids, size);
        }
        if m.every == 0 {
            c.push(format!("{f}.every"), "must be at least 1".into());
        }
    }
    for (i, m) in net.monitors.astrocytes.iter().enumerate() {
        let f = format!("monitors.astrocytes[{i}]");
        if !net.astrocytes.iter().any(|a| a.name == m.astrocyte) {
            let known: Vec<&str> = net.astrocytes.iter().map(|a| a.name.as_str()).collect();
            c.push(
                format!("{f}.astrocyte"),
                format!(
                    "unknown astrocyte '{}' (known: {})",
                    m.astrocyte,
                    known.join(", ")
                ),
            );
        }
        if m.every == 0 {
            c.push(format!("{f}.every"), "must be at least 1".into());
        }
    }
    for (i, m) in net.monitors.weights.iter().enumerate() {
        let f = format!("monitors.weights[{i}]");
        match net.projections.iter().find(|p| p.label() == m.projection) {
            None => {
                let known: Vec<String> = net.projections.iter().map(|p| p.label()).collect();
                c.push(
                    format!("{f}.projection"),
                    format!(
                        "unknown projection '{}' (known: {})",
                        m.projection,
                        known.join(", ")
                    ),
                );
            }
            Some(p) if p.plasticity.is_none() => c.push(
                format!("{f}.projection"),
                format!(
                    "projection '{}' is not plastic: its weights never change",
                    m.projection
                ),
            ),
            Some(_) => {}
        }
        if net.monitors.weights[..i]
            .iter()
            .any(|o| o.projection == m.projection)
        {
            c.push(
                format!("{f}.projection"),
                format!("projection '{}' is already monitored", m.projection),
            );
        }
        if m.every == 0 {
            c.push(format!("{f}.every"), "must be at least 1".into());
        }
        if !(1..=10_000).contains(&m.bins) {
            c.push(
                format!("{f}.bins"),
                format!("must be in 1..=10000, got {}", m.bins),
            );
        }
    }
    if let Some(m) = &net.monitors.branching {
        let f = "monitors.branching";
        if m.populations.is_empty() {
            c.push(
                format!("{f}.populations"),
                "must name at least one population".into(),
            );
        }
        for (k, p) in m.populations.iter().enumerate() {
            c.pop(format!("{f}.populations[{k}]"), p);
        }
        if !(m.sample_ms.is_finite() && m.sample_ms >= dt * (1.0 - 1e-9)) {
            c.push(
                format!("{f}.sample_ms"),
                format!("must be at least dt_ms ({dt}), got {}", m.sample_ms),
            );
        }
    }
    for (i, m) in net.monitors.rate.iter().enumerate() {
        let f = format!("monitors.rate[{i}]");
        c.pop(format!("{f}.population"), &m.population);
        if !(m.bin_ms >= dt * (1.0 - 1e-9) && m.bin_ms.is_finite()) {
            c.push(
                format!("{f}.bin_ms"),
                format!("must be at least dt_ms ({dt}), got {}", m.bin_ms),
            );
        }
    }
    astrocytes(&mut c, &on_grid);
    c.issues
}

fn astrocytes(c: &mut Ctx<'_>, on_grid: &HashMap<&str, usize>) {
    let net = c.net;
    let mut modulated: HashMap<String, usize> = HashMap::new();
    for (i, a) in net.astrocytes.iter().enumerate() {
        let f = format!("astrocytes[{i}]");
        for (field, msg) in a.check() {
            c.push(format!("{f}.{field}"), msg);
        }
        if net.astrocytes[..i].iter().any(|b| b.name == a.name) {
            c.push(
                format!("{f}.name"),
                format!("duplicate astrocyte name '{}'", a.name),
            );
        }
        for (k, name) in a.liquid.iter().enumerate() {
            c.pop(format!("{f}.liquid[{k}]"), name);
        }
        for (k, name) in a.input.iter().enumerate() {
            c.pop(format!("{f}.input[{k}]"), name);
        }
        if a.domains != [1, 1, 1] {
            let grids: Vec<Option<&usize>> =
                a.liquid.iter().map(|n| on_grid.get(n.as_str())).collect();
            if grids.iter().any(|g| g.is_none()) || grids.windows(2).any(|w| w[0] != w[1]) {
                c.push(
                    format!("{f}.domains"),
                    "domains need every liquid population on one grid".into(),
                );
            } else if let Some(&&g) = grids.first().and_then(|g| g.as_ref()) {
                // A domain holds at least one grid point along each axis.
                let shape = net.grids[g].shape;
                if a.domains.iter().zip(shape).any(|(&d, s)| d > s) {
                    c.push(
                        format!("{f}.domains"),
                        format!(
                            "{:?} cuts the grid of shape {shape:?} finer than its points",
                            a.domains
                        ),
                    );
                }
            }
        }
        for (k, m) in a.modulates.iter().enumerate() {
            let mf = format!("{f}.modulates[{k}]");
            let Some(pr) = net.projections.iter().find(|p| &p.label() == m) else {
                let known: Vec<String> = net.projections.iter().map(|p| p.label()).collect();
                c.push(
                    mf,
                    format!("unknown projection '{m}' (known: {})", known.join(", ")),
                );
                continue;
            };
            if !pr.plasticity.as_ref().is_some_and(|r| r.spec().astrocyte) {
                c.push(
                    mf.clone(),
                    format!(
                        "projection '{m}' needs the {} plasticity rule",
                        super::Plasticity::astrocyte_keys()
                    ),
                );
            }
            if !a.liquid.contains(&pr.to) {
                c.push(
                    mf.clone(),
                    format!(
                        "projection '{m}' targets '{}', which is not in this astrocyte's liquid",
                        pr.to
                    ),
                );
            }
            if let Some(prev) = modulated.insert(m.clone(), i) {
                c.push(
                    mf,
                    format!("projection '{m}' is already modulated by astrocytes[{prev}]"),
                );
            }
        }
    }
}

/// Why a delay of `ms` at step `dt` is longer than a synapse can hold, if it is.
fn too_long_delay(ms: f64, dt: f64) -> Option<String> {
    let steps = (ms / dt).round();
    (steps > f64::from(super::MAX_DELAY_STEPS)).then(|| {
        format!(
            "{ms} ms is {steps} steps of dt_ms = {dt}, more than the {} a delay can take",
            super::MAX_DELAY_STEPS
        )
    })
}
