//! Experiments built on [`Simulator`](crate::Simulator): [`compare`] runs one
//! network and input under several plasticity rules side by side; [`lsm`] runs
//! liquid-state-machine experiments on datasets.
pub mod compare;
pub mod lsm;
