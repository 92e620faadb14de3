//! servicenow (work in progress).
