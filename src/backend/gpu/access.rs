//! Host access to device state: neuron state variables and projection
//! weights, read back for [`Backend`](crate::backend::Backend)'s readers.
use super::GpuBackend;
use super::pipelines::read_buffer;

impl GpuBackend {
    /// [`Backend::read_instance_state`](crate::backend::Backend::read_instance_state).
    pub(super) fn instance_state_into(
        &self,
        instance: usize,
        pop: usize,
        var: &str,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        if pop >= self.names.len() {
            return Err(crate::Error::no_index("population", pop, self.names.len()));
        }
        let np = self.neurons.iter().find(|x| x.pop == pop);
        // Blocks of n values: instance b's i_ext is block b, its variable k block
        // b × vars + k of the state buffer.
        let (buf, at) = match (np, var) {
            (Some(np), "i_ext") => (&np.i_ext, instance),
            (Some(np), v) => match np.vars.iter().position(|x| *x == v) {
                Some(k) if np.readable.iter().any(|r| r == v) => {
                    (&np.state, instance * np.vars.len() + k)
                }
                _ => (&np.state, usize::MAX),
            },
            (None, _) => (&self.ctl, usize::MAX),
        };
        if at == usize::MAX {
            // Empty, as on the CPU: the simulator lists the model's variables.
            return Err(crate::Error::Unknown {
                kind: "state variable",
                name: var.into(),
                known: vec![],
            });
        }
        let np = np.expect("neuron population");
        let n = u64::from(np.n);
        *out = if n == 0 {
            vec![]
        } else {
            read_buffer(&self.ctx, buf, at as u64 * n * 4, n * 4)?
        };
        if let (Some(decode), true) = (&np.decode, var != "i_ext") {
            out.iter_mut().for_each(|x| *x = decode(var, x.to_bits()));
        }
        Ok(())
    }

    /// [`Backend::read_weights`](crate::backend::Backend::read_weights).
    pub(super) fn weights_into(
        &self,
        instance: usize,
        proj: usize,
        out: &mut Vec<f32>,
    ) -> crate::Result<()> {
        self.check_instance(instance)?;
        let pr = self
            .projs
            .get(proj)
            .ok_or_else(|| crate::Error::no_index("projection", proj, self.projs.len()))?;
        if let Some(w) = self
            .plastic
            .as_ref()
            .and_then(|pl| pl.read_weights(&self.ctx, instance, proj))
        {
            *out = w?;
            return Ok(());
        }
        let inv = self.proj_inv_scale[proj];
        out.clear();
        out.extend(pr.wfix.iter(pr.len()).map(|w| w as f32 * inv));
        Ok(())
    }
}
