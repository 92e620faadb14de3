//! case-client (work in progress).
