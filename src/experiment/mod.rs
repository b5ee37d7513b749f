//! Experiments built on [`Simulator`](crate::Simulator): [`compare`] runs one
//! network and input under several plasticity rules side by side.
pub mod compare;
