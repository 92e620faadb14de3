//! observability (work in progress).
