//! An instance's dynamic state copied out and put back
//! ([`Backend::snapshot`](crate::backend::Backend::snapshot)): what a run
//! changes, not the connectivity or the inputs.
use super::instance::Instance;
use super::plasticity::{AstroState, PlasticState};
use crate::build::Dynamics;
use crate::neuron::AlignedVec;

/// The dynamic state of a CPU instance.
pub(super) struct InstanceState {
    /// Per population: its dynamics (None for sources, which have no state).
    dynamics: Vec<Option<Dynamics>>,
    rings: Vec<AlignedVec<i32>>,
    slot: Vec<usize>,
    slot_step: Option<u64>,
    i_ext: Vec<Vec<f32>>,
    ext_live: Vec<bool>,
    step_spikes: Vec<Vec<u32>>,
    plastic: Vec<Option<PlasticState>>,
    astros: Vec<AstroState>,
}

impl Instance {
    /// A copy of the state a run changes.
    pub(super) fn snapshot(&self) -> InstanceState {
        InstanceState {
            dynamics: (self.net.pops.iter())
                .map(|p| match p.dynamics {
                    Dynamics::Source(_) => None,
                    _ => Some(p.dynamics.clone()),
                })
                .collect(),
            rings: self.rings.clone(),
            slot: self.slot.clone(),
            slot_step: self.slot_step,
            i_ext: self.i_ext.clone(),
            ext_live: self.ext_live.clone(),
            step_spikes: self.step_spikes.clone(),
            plastic: self.plastic.clone(),
            astros: self.astros.clone(),
        }
    }

    /// Puts `s` back (taken from an instance of the same network). Spike
    /// sources resume at the next step's events.
    pub(super) fn restore(&mut self, s: &InstanceState) -> crate::Result<()> {
        let same = |a: &[AlignedVec<i32>], b: &[AlignedVec<i32>]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.len() == y.len())
        };
        if s.dynamics.len() != self.net.pops.len() || !same(&s.rings, &self.rings) {
            return Err(crate::backend::foreign_snapshot());
        }
        for (pop, d) in self.net.pops.iter_mut().zip(&s.dynamics) {
            if let Some(d) = d {
                pop.dynamics = d.clone();
            }
        }
        self.rings.clone_from(&s.rings);
        self.slot.clone_from(&s.slot);
        self.slot_step = s.slot_step;
        self.i_ext.clone_from(&s.i_ext);
        self.ext_live.clone_from(&s.ext_live);
        self.step_spikes.clone_from(&s.step_spikes);
        self.plastic.clone_from(&s.plastic);
        self.astros.clone_from(&s.astros);
        self.current_sig.fill(None);
        self.source_ptr.fill(0);
        self.pending.clear();
        Ok(())
    }
}
