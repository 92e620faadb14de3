//! The wire shapes: the Kafka envelope and the parts of a Jira webhook body this crate reads.
//!
//! Every struct tolerates unknown fields (Jira sends hundreds) and treats every field it can
//! do without as optional (`null` and absent are the same). Strings borrow from the payload
//! where JSON allows it (no escapes), so decoding a large issue copies little: each struct
//! says so once, `bound(deserialize = "'de: 'a")`, and a missing `Option` field is `None`
//! without a per-field `default`.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON string, borrowed from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JStr<'a>(pub Cow<'a, str>);

impl JStr<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor { scalars: false }).map(JStr)
    }
}

/// An id or scalar value: Jira sends ids as strings, some versions and fields as numbers
/// (and the odd boolean). Kept as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar<'a>(pub Cow<'a, str>);

impl Scalar<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor { scalars: true }).map(Scalar)
    }
}

/// The text of a JSON string (borrowed when it has no escapes) or, when `scalars`, of a
/// number or boolean too: the one reader behind [`JStr`] and [`Scalar`].
struct TextVisitor {
    scalars: bool,
}

impl TextVisitor {
    fn scalar<'de, E: de::Error>(
        self,
        text: impl fmt::Display,
        unexpected: de::Unexpected<'_>,
    ) -> Result<Cow<'de, str>, E> {
        if self.scalars {
            Ok(Cow::Owned(text.to_string()))
        } else {
            Err(E::invalid_type(unexpected, &self))
        }
    }
}

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.scalars {
            "a string or a number"
        } else {
            "a string"
        })
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.scalar(v, de::Unexpected::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.scalar(v, de::Unexpected::Signed(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.scalar(v, de::Unexpected::Float(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.scalar(v, de::Unexpected::Bool(v))
    }
}

/// An epoch-milliseconds timestamp; Jira sends an integer, a float is tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EpochMillis(pub i64);

struct EpochVisitor;

impl Visitor<'_> for EpochVisitor {
    type Value = EpochMillis;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("epoch milliseconds (a number)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(EpochMillis)
            .map_err(|_| E::custom("epoch milliseconds out of range"))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(EpochMillis(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // `as` saturates (NaN → 0); the range check happens when the time is built.
        #[allow(clippy::cast_possible_truncation)]
        Ok(EpochMillis(v as i64))
    }
}

impl<'de> Deserialize<'de> for EpochMillis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EpochVisitor)
    }
}

/// The Kafka record value: `{"orgId", "jiraAccountId", "receivedAt", "webhook"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct Envelope<'a> {
    pub org_id: u64,
    pub jira_account_id: JStr<'a>,
    pub received_at: JStr<'a>,
    pub webhook: Webhook<'a>,
}

/// A Jira webhook body (the parts read here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct Webhook<'a> {
    pub timestamp: Option<EpochMillis>,
    pub webhook_event: Option<JStr<'a>>,
    #[serde(rename = "issue_event_type_name")]
    pub issue_event_type_name: Option<JStr<'a>>,
    pub user: Option<User<'a>>,
    pub issue: Option<Issue<'a>>,
    pub changelog: Option<ChangelogBody<'a>>,
    pub comment: Option<CommentBody<'a>>,
}

/// A Jira user: Cloud has `accountId`, Server / legacy Cloud `name` and `key`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct User<'a> {
    pub account_id: Option<JStr<'a>>,
    pub name: Option<JStr<'a>>,
    pub key: Option<JStr<'a>>,
    pub display_name: Option<JStr<'a>>,
}

/// The issue object (absent on some comment events).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct Issue<'a> {
    pub id: Option<Scalar<'a>>,
    pub key: Option<JStr<'a>>,
    pub fields: Option<IssueFields<'a>>,
}

/// The issue fields read here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct IssueFields<'a> {
    pub project: Option<IdRef<'a>>,
    pub issuetype: Option<IdRef<'a>>,
    pub updated: Option<JStr<'a>>,
}

/// Any object referenced by id (`project`, `issuetype`).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct IdRef<'a> {
    pub id: Option<Scalar<'a>>,
}

/// `changelog`: an id and the changed items.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct ChangelogBody<'a> {
    pub id: Option<Scalar<'a>>,
    pub items: Option<Vec<Item<'a>>>,
}

/// One changed field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct Item<'a> {
    pub field: Option<JStr<'a>>,
    pub fieldtype: Option<JStr<'a>>,
    pub field_id: Option<JStr<'a>>,
    pub from: Option<Scalar<'a>>,
    pub from_string: Option<JStr<'a>>,
    pub to: Option<Scalar<'a>>,
    pub to_string: Option<JStr<'a>>,
    pub tmp_from_account_id: Option<Scalar<'a>>,
    pub tmp_to_account_id: Option<Scalar<'a>>,
}

/// A comment.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct CommentBody<'a> {
    pub id: Option<Scalar<'a>>,
    #[serde(rename = "self")]
    pub self_url: Option<JStr<'a>>,
    pub author: Option<User<'a>>,
    pub body: Option<JStr<'a>>,
    pub created: Option<JStr<'a>>,
    pub updated: Option<JStr<'a>>,
    pub jsd_public: Option<bool>,
    pub visibility: Option<de::IgnoredAny>,
}
