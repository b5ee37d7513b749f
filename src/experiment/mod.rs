//! Experiments built on [`Simulator`](crate::Simulator): [`compare`] runs one
//! network and input under several plasticity rules side by side; [`lsm`] runs
//! liquid-state-machine experiments on datasets; [`continual`] runs continual-learning
//! task streams (HLOP against sequential and multitask training); [`fixed_error`]
//! measures the error of fixed-point mode against float.
pub mod compare;
pub mod continual;
pub mod fixed_error;
pub mod lsm;
