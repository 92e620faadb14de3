//! case-sandbox (work in progress).
