//! kafka-runtime (work in progress).
