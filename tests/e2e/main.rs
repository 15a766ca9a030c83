//! The end-to-end tests, in one test binary (each binary links wasmtime and Cranelift): the
//! real component in the real host against the simulator on 127.0.0.1. `memory.rs` is a binary
//! of its own because it measures the process's resident set.

mod accounts;
mod api_errors;
mod api_examples;
mod api_requests;
mod contract;
mod finalizers;
mod hostile;
mod isolation;
mod load;
mod policy;
mod reliability;
mod sandbox;
