//! The source services learnlens reads its data from (sources.md).

pub mod xapi;
