//! Small identifier types shared by every integration.

use crate::IntegrationTelemetry;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

numeric_id!(
    /// A Case Management organisation id.
    OrgId
);
numeric_id!(
    /// The optimistic-locking version of a case: every successful update increments it, and
    /// an update naming a stale version is refused.
    CaseVersion
);

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

string_id!(
    /// A case id (a UUID in Case Management, kept opaque here).
    CaseId
);
string_id!(
    /// A Case Management project id.
    ProjectId
);
string_id!(
    /// A Case Management user id (UUID).
    UserId
);

/// The name of an integration ("flavor"): `jira`, `servicenow`, … It is an open set: a new
/// integration crate names itself without editing this one.
///
/// It may carry the integration's own telemetry (an extra log field, extra metric tags),
/// declared as data with [`Integration::with_telemetry`]; equality, ordering and hashing
/// look at the name only. Copying it copies a name and a pointer.
///
/// ```
/// use thirdparty_core::{Integration, IntegrationTelemetry};
///
/// static TELEMETRY: IntegrationTelemetry =
///     IntegrationTelemetry::new().with_account_tag("acme_site_id");
/// const ACME: Integration = Integration::new("acme").with_telemetry(&TELEMETRY);
///
/// assert_eq!(ACME, Integration::new("acme"));
/// assert_eq!(ACME.telemetry().account_tag(), Some("acme_site_id"));
/// assert_eq!(Integration::new("quiet").telemetry().account_tag(), None);
/// ```
#[derive(Clone, Copy)]
pub struct Integration {
    name: &'static str,
    telemetry: Option<&'static IntegrationTelemetry>,
}

impl Integration {
    /// Names an integration. Use lower-case snake_case: the name is a metric tag value and
    /// part of the default topic name.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            telemetry: None,
        }
    }

    /// The same integration, declaring its own telemetry (see [`IntegrationTelemetry`]).
    #[must_use]
    pub const fn with_telemetry(self, telemetry: &'static IntegrationTelemetry) -> Self {
        Self {
            name: self.name,
            telemetry: Some(telemetry),
        }
    }

    /// The integration's name.
    pub const fn as_str(&self) -> &'static str {
        self.name
    }

    /// The integration's own telemetry; [`IntegrationTelemetry::NONE`] when it declared none.
    pub const fn telemetry(&self) -> &'static IntegrationTelemetry {
        match self.telemetry {
            Some(telemetry) => telemetry,
            None => &IntegrationTelemetry::NONE,
        }
    }
}

impl PartialEq for Integration {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Integration {}

impl std::hash::Hash for Integration {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl PartialOrd for Integration {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Integration {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.cmp(other.name)
    }
}

impl fmt::Debug for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Integration").field(&self.name).finish()
    }
}

impl fmt::Display for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl Serialize for Integration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}
