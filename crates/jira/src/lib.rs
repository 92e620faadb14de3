//! jira (work in progress).
