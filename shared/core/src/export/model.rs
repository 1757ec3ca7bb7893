//! The export's conversation as it appears on disk: only the fields SoulPrint reads.
//!
//! Every field is optional and every scalar is lenient (a wrong type reads as absent), because
//! real exports drift: a field that is a float in one vintage is null or missing in another.
//! Strings borrow from the frame when they hold no escapes, so most text is never copied twice.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// One element of a conversations file.
#[derive(Debug, Default, Deserialize)]
pub struct RawConversation<'a> {
    /// The conversation's id; `conversation_id` is read where it is missing or empty.
    #[serde(borrow, default)]
    pub id: Text<'a>,
    /// The id under its other name, for exports that have no `id`.
    #[serde(borrow, default)]
    pub conversation_id: Text<'a>,
    /// The title, kept as it is.
    #[serde(borrow, default)]
    pub title: Text<'a>,
    /// When the conversation began, in epoch seconds.
    #[serde(default)]
    pub create_time: Seconds,
    /// When it last changed, in epoch seconds: of two copies of a conversation, the newer is kept.
    #[serde(default)]
    pub update_time: Seconds,
    /// The message tree: every node, abandoned branches included.
    #[serde(borrow, default)]
    pub mapping: Option<Mapping<'a>>,
    /// The node the person saw last: the active path ends there.
    #[serde(borrow, default)]
    pub current_node: Text<'a>,
    /// The person asked ChatGPT not to remember the conversation.
    #[serde(default)]
    pub is_do_not_remember: Flag,
}

/// Node id → node. A fast, unkeyed hash: ids chosen to collide can only slow the reading of
/// the export that holds them, one person's, bounded by the conversation size limit.
pub type Mapping<'a> = rustc_hash::FxHashMap<Str<'a>, RawNode<'a>>;

/// A node of the message tree.
#[derive(Debug, Default, Deserialize)]
pub struct RawNode<'a> {
    /// Its message; none at the root of most exports.
    #[serde(borrow, default)]
    pub message: Option<RawMessage<'a>>,
    /// `None`: no `parent` key at all (rebuild from `children`); `Some(Text(None))`: a root.
    #[serde(borrow, default, deserialize_with = "present")]
    pub parent: Option<Text<'a>>,
    /// Left unparsed: only the variant without `parent` needs it, and parsing a list per node
    /// costs an allocation per node in every other export.
    #[serde(borrow, default)]
    pub children: Option<&'a serde_json::value::RawValue>,
}

/// A message in the tree: the person's, the assistant's, a tool's or the system's.
#[derive(Debug, Default, Deserialize)]
pub struct RawMessage<'a> {
    /// The message's id, kept as the normalised message's.
    #[serde(borrow, default)]
    pub id: Text<'a>,
    /// Who wrote it; a message without a known author role is left out.
    #[serde(borrow, default)]
    pub author: Option<Author<'a>>,
    /// When it was written, in epoch seconds.
    #[serde(default)]
    pub create_time: Seconds,
    /// What it holds; a message without content is left out.
    #[serde(borrow, default)]
    pub content: Option<RawContent<'a>>,
    /// Who it is addressed to: `all` is the conversation, anything else a tool (`bio`: a memory
    /// write).
    #[serde(borrow, default)]
    pub recipient: Text<'a>,
    /// Flags that hide a message or mark it as custom instructions.
    #[serde(borrow, default)]
    pub metadata: Option<Metadata<'a>>,
}

/// A message's author.
#[derive(Debug, Default, Deserialize)]
pub struct Author<'a> {
    /// `user`, `assistant`, `system`, `tool` or `function`.
    #[serde(borrow, default)]
    pub role: Text<'a>,
    /// The tool's name, for a tool's message; `bio` is ChatGPT's memory tool.
    #[serde(borrow, default)]
    pub name: Text<'a>,
}

/// The metadata that decides whether a message is conversation.
#[derive(Debug, Default, Deserialize)]
pub struct Metadata<'a> {
    /// Not shown in the conversation: left out.
    #[serde(default)]
    pub is_visually_hidden_from_conversation: Flag,
    /// Custom instructions as a system message: a profile signal, not conversation.
    #[serde(default)]
    pub is_user_system_message: Flag,
    /// A reasoning model's preamble: left out.
    #[serde(default)]
    pub is_thinking_preamble: Flag,
    /// The custom instructions such a system message carries.
    #[serde(borrow, default)]
    pub user_context_message_data: Option<UserContext<'a>>,
}

/// Custom instructions as 2023 exports carry them, in a system message's metadata.
#[derive(Debug, Default, Deserialize)]
pub struct UserContext<'a> {
    /// What the person told ChatGPT about themselves.
    #[serde(borrow, default)]
    pub about_user_message: Text<'a>,
    /// How the person asked ChatGPT to respond.
    #[serde(borrow, default)]
    pub about_model_message: Text<'a>,
}

/// A message's content; which fields are set depends on `content_type`.
#[derive(Debug, Default, Deserialize)]
pub struct RawContent<'a> {
    /// `text`, `multimodal_text`, `code`, … (`text` when absent): it decides what is visible.
    #[serde(borrow, default)]
    pub content_type: Text<'a>,
    /// The text and multimodal parts, joined into the message's text.
    #[serde(borrow, default)]
    pub parts: Option<Vec<Part<'a>>>,
    /// `code`, `execution_output`, `tether_quote`…
    #[serde(borrow, default)]
    pub text: Text<'a>,
    /// The language of `code` content, named on its fence.
    #[serde(borrow, default)]
    pub language: Text<'a>,
    /// `user_editable_context`
    #[serde(borrow, default)]
    pub user_profile: Text<'a>,
    /// `user_editable_context`: how the person asked ChatGPT to respond.
    #[serde(borrow, default)]
    pub user_instructions: Text<'a>,
    /// `model_editable_context`
    #[serde(borrow, default)]
    pub model_set_context: Text<'a>,
}

/// One element of `content.parts`.
#[derive(Debug)]
pub enum Part<'a> {
    /// A plain string.
    Text(Cow<'a, str>),
    /// A dict part: an image or audio pointer, a transcription…
    Object {
        /// The part's type (`image_asset_pointer`, `audio_transcription`, …).
        content_type: Option<Cow<'a, str>>,
        /// Its words, where it has any (a transcription).
        text: Option<Cow<'a, str>>,
    },
    /// A number, a list, null: counted and skipped.
    Other,
}

impl Part<'_> {
    /// A copy that borrows from this one.
    pub fn borrowed(&self) -> Part<'_> {
        match self {
            Part::Text(s) => Part::Text(Cow::Borrowed(s)),
            Part::Object { content_type, text } => Part::Object {
                content_type: content_type.as_deref().map(Cow::Borrowed),
                text: text.as_deref().map(Cow::Borrowed),
            },
            Part::Other => Part::Other,
        }
    }
}

/// A map key: always a string in JSON. Borrows from the input when it holds no escapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Str<'a>(pub Cow<'a, str>);

/// A string field; a value of any other type reads as absent instead of failing the
/// conversation.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    /// The string, if there was one.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Float epoch seconds; anything else (null, a string, a list) reads as absent.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Seconds(pub Option<f64>);

/// A boolean; anything else reads as false.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Flag {
    /// The boolean; false when absent or of another type.
    pub fn get(self) -> bool {
        self.0
    }
}

fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Visitor methods that read a value of an unwanted type as `$absent`, consuming it whole.
macro_rules! absent {
    ($absent:expr; $($kind:ident),*) => { $( absent!(@one $absent; $kind); )* };
    (@one $absent:expr; bool) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> { Ok($absent) }
    };
    (@one $absent:expr; i64) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> { Ok($absent) }
    };
    (@one $absent:expr; u64) => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> { Ok($absent) }
    };
    (@one $absent:expr; f64) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> { Ok($absent) }
    };
    (@one $absent:expr; str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> { Ok($absent) }
    };
    (@one $absent:expr; unit) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> { Ok($absent) }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> { Ok($absent) }
    };
    (@one $absent:expr; seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($absent)
        }
    };
    (@one $absent:expr; map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($absent)
        }
    };
}

/// The three ways serde_json hands over a string, as a `Cow` that borrows when it can.
macro_rules! strings {
    ($wrap:expr) => {
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok($wrap(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok($wrap(Cow::Owned(v)))
        }
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            strings!(Str);
        }
        d.deserialize_str(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            strings!(|s| Text(Some(s)));
            absent!(Text(None); bool, i64, u64, f64, unit, seq, map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("epoch seconds")
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Seconds(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Seconds(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Seconds(Some(v as f64)))
            }
            /// Some tools write the number as a string.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let seconds = v.trim().parse::<f64>().ok();
                Ok(Seconds(seconds.filter(|s| s.is_finite())))
            }
            absent!(Seconds(None); bool, unit, seq, map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Flag(v))
            }
            absent!(Flag(false); i64, u64, f64, str, unit, seq, map);
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Part<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Part<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a content part")
            }
            strings!(Part::Text);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut content_type = None;
                let mut text = None;
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match &*key.0 {
                        "content_type" => content_type = map.next_value::<Text>()?.0,
                        "text" => text = map.next_value::<Text>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Part::Object { content_type, text })
            }
            absent!(Part::Other; bool, i64, u64, f64, unit, seq);
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_read_as_absent_instead_of_failing() {
        let raw: RawConversation = serde_json::from_str(
            r#"{"id": 5, "title": ["x"], "create_time": "1700000000.5", "update_time": {"a": 1},
                "is_do_not_remember": "yes", "current_node": null,
                "mapping": {"n": {"parent": null, "children": [1, "c"],
                  "message": {"content": {"content_type": "text", "parts": ["hi", 3, null, {"x": [1]}]}}}}}"#,
        )
        .unwrap();
        assert_eq!(raw.id.get(), None);
        assert_eq!(raw.title.get(), None);
        assert_eq!(raw.create_time, Seconds(Some(1_700_000_000.5)));
        assert_eq!(raw.update_time, Seconds(None));
        assert!(!raw.is_do_not_remember.get());
        let node = &raw.mapping.as_ref().unwrap()[&Str(Cow::Borrowed("n"))];
        assert_eq!(node.parent, Some(Text(None)));
        assert_eq!(node.children.map(|c| c.get()), Some(r#"[1, "c"]"#));
        let parts = node
            .message
            .as_ref()
            .unwrap()
            .content
            .as_ref()
            .unwrap()
            .parts
            .as_ref()
            .unwrap();
        assert!(matches!(parts[0], Part::Text(_)));
        assert!(matches!(parts[1], Part::Other));
        assert!(matches!(parts[2], Part::Other));
        assert!(matches!(
            parts[3],
            Part::Object {
                content_type: None,
                text: None
            }
        ));
    }

    #[test]
    fn a_missing_parent_differs_from_a_null_one() {
        let node: RawNode = serde_json::from_str(r#"{"message": null}"#).unwrap();
        assert_eq!(node.parent, None);
    }

    #[test]
    fn unescaped_strings_borrow_from_the_input() {
        let raw: RawConversation =
            serde_json::from_str(r#"{"title": "plain", "id": "a\nb"}"#).unwrap();
        assert!(matches!(raw.title.0, Some(Cow::Borrowed("plain"))));
        assert!(matches!(raw.id.0, Some(Cow::Owned(_))));
    }
}
