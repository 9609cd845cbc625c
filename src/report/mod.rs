//! Renderers: each a function of the same findings, none deciding policy.

pub mod check;
pub mod diff;
pub mod human;
pub mod json;

use crate::finding::Finding;

/// What a scan report covers: findings plus the size of what was scanned.
#[derive(Debug)]
pub struct ScanReport<'a> {
    pub findings: Vec<&'a Finding>,
    pub servers: usize,
    pub tools: usize,
}
