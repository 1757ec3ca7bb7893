//! One generated conversation: a message tree with branches and every kind of message a real
//! export holds, plus what a correct reader must make of it.

use fastrand::Rng;
use serde_json::{json, Map, Value};

use crate::text::Text;
use crate::Vintage;

/// Text that must never reach the normalised output: abandoned branches, tool traffic, hidden
/// reasoning, hidden system messages all carry it.
pub const DROPPED: &str = "zzdroppedzz";
/// Placeholders replaced after serialisation by an unpaired surrogate escape and by raw invalid
/// UTF-8, which no JSON serialiser writes.
pub const LONE_SURROGATE: &str = "zzlonesurrogatezz";
pub const RAW_INVALID_UTF8: &str = "zzrawinvalidutf8zz";

/// What a correct reader makes of the conversation.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub visible_messages: u64,
    pub custom_instructions: u64,
    pub memories: u64,
    pub do_not_remember: bool,
    pub needs_repair: bool,
    /// A fact about the person planted in one of their messages: (message id, sentence).
    pub planted: Option<(String, String)>,
}

pub struct Generated {
    pub id: String,
    pub value: Value,
    pub update_time: f64,
    pub expected: Expected,
}

struct Node {
    id: String,
    parent: Option<usize>,
    children: Vec<usize>,
    message: Option<Value>,
}

pub struct Builder<'r> {
    rng: &'r mut Rng,
    vintage: Vintage,
    nodes: Vec<Node>,
    time: f64,
    /// Visible roles along the active path, to count messages after continuations merge.
    path_roles: Vec<&'static str>,
    expected: Expected,
}

/// Knobs for one conversation.
pub struct Shape {
    pub exchanges: usize,
    /// Typical length of an assistant answer, in bytes.
    pub answer_chars: usize,
    pub start_time: f64,
    pub custom_instructions: bool,
    pub model_memory: bool,
    pub do_not_remember: bool,
    pub bad_unicode: bool,
    /// A first-person fact to plant in the person's message in the middle of the conversation.
    pub plant: Option<String>,
}

impl<'r> Builder<'r> {
    pub fn new(rng: &'r mut Rng, vintage: Vintage) -> Self {
        Builder {
            rng,
            vintage,
            nodes: Vec::new(),
            time: 0.0,
            path_roles: Vec::new(),
            expected: Expected::default(),
        }
    }

    fn uuid(&mut self) -> String {
        let r = &mut self.rng;
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            r.u32(..),
            r.u16(..),
            r.u16(..0x1000),
            r.u16(..),
            r.u64(..1 << 48)
        )
    }

    fn tick(&mut self) -> f64 {
        self.time += self.rng.f64() * 90.0 + 1.0;
        (self.time * 1000.0).round() / 1000.0
    }

    fn add(&mut self, parent: Option<usize>, message: Option<Value>) -> usize {
        let id = message
            .as_ref()
            .and_then(|m| m["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| self.uuid());
        let at = self.nodes.len();
        self.nodes.push(Node {
            id,
            parent,
            children: Vec::new(),
            message,
        });
        if let Some(p) = parent {
            self.nodes[p].children.push(at);
        }
        at
    }

    /// A message in this vintage's shape. `extra` holds recipient/metadata for the full shape.
    fn message(
        &mut self,
        role: &str,
        name: Option<&str>,
        content: Value,
        recipient: &str,
        metadata: Value,
        time: Option<f64>,
    ) -> Value {
        let id = self.uuid();
        match self.vintage {
            Vintage::Full2025 => json!({
                "id": id,
                "author": {"role": role, "name": name, "metadata": {}},
                "create_time": time,
                "update_time": null,
                "content": content,
                "status": "finished_successfully",
                "end_turn": role == "assistant",
                "weight": 1.0,
                "metadata": metadata,
                "recipient": recipient,
                "channel": null,
            }),
            Vintage::Slim2026 => {
                let mut m = json!({
                    "author": {"name": name, "role": role},
                    "content": content,
                    "create_time": time,
                    "id": id,
                });
                if metadata.as_object().is_some_and(|o| !o.is_empty()) && self.rng.bool() {
                    m["metadata"] = metadata;
                }
                m
            }
        }
    }

    fn text(&mut self, parts: Vec<Value>) -> Value {
        json!({"content_type": "text", "parts": parts})
    }

    /// Adds a visible message on the active path.
    fn visible(&mut self, parent: usize, role: &'static str, content: Value) -> usize {
        let t = self.tick();
        let msg = self.message(role, None, content, "all", json!({}), Some(t));
        self.path_roles.push(role);
        self.add(Some(parent), Some(msg))
    }

    /// Adds an undated, hidden message before the conversation proper (system prompt, custom
    /// instructions).
    fn preamble(&mut self, parent: usize, role: &str, content: Value) -> usize {
        let hidden = json!({"is_visually_hidden_from_conversation": true});
        let msg = self.message(role, None, content, "all", hidden, None);
        self.add(Some(parent), Some(msg))
    }

    /// Adds a message that a reader must leave out.
    fn hidden(
        &mut self,
        parent: usize,
        role: &str,
        name: Option<&str>,
        content: Value,
        recipient: &str,
    ) -> usize {
        let t = self.tick();
        let msg = self.message(role, name, content, recipient, json!({}), Some(t));
        self.add(Some(parent), Some(msg))
    }

    pub fn build(mut self, shape: &Shape) -> Generated {
        self.time = shape.start_time;
        self.expected.do_not_remember = shape.do_not_remember;
        let root = match self.vintage {
            Vintage::Full2025 => self.add(None, None),
            Vintage::Slim2026 => {
                self.nodes.push(Node {
                    id: "client-created-root".into(),
                    parent: None,
                    children: Vec::new(),
                    message: None,
                });
                0
            }
        };
        let mut tip = root;
        if self.vintage == Vintage::Full2025 {
            let content = self.text(vec![json!(format!("{DROPPED} system prompt"))]);
            tip = self.preamble(tip, "system", content);
        }
        if shape.custom_instructions {
            let content = json!({
                "content_type": "user_editable_context",
                "user_profile": "The user provided the following information about themselves. This user profile is shown to you in all conversations they have.\nUser profile:\n```Preferred name: Sam\nRole: data engineer in Lisbon```",
                "user_instructions": "The user provided the additional info about how they would like you to respond:\n```Be concise.```",
            });
            tip = self.preamble(tip, "user", content);
            self.expected.custom_instructions = 1;
        }
        if shape.model_memory {
            let content = json!({
                "content_type": "model_editable_context",
                "model_set_context": "1. [2024-03-02]. Sam is a data engineer.\n2. [2024-05-10]. Sam lives in Lisbon.",
            });
            let msg = self.message("assistant", None, content, "all", json!({}), None);
            tip = self.add(Some(tip), Some(msg));
            self.expected.memories += 1;
        }
        for i in 0..shape.exchanges.max(1) {
            tip = self.exchange(tip, shape, i);
        }
        let update_time = self.tick();
        let current = self.nodes[tip].id.clone();
        let id = self.uuid();
        let mapping = self.mapping();
        let expected = self.expected_messages();
        let mut value = json!({
            "title": Text::new(self.rng).prose(30).lines().next().unwrap_or("Untitled").chars().take(40).collect::<String>(),
            "create_time": shape.start_time,
            "update_time": update_time,
            "mapping": mapping,
            "moderation_results": [],
            "current_node": current,
            "plugin_ids": null,
            "conversation_id": id,
            "gizmo_id": null,
            "gizmo_type": null,
            "is_archived": false,
            "is_starred": null,
            "safe_urls": [],
            "default_model_slug": "gpt-4o",
            "is_do_not_remember": shape.do_not_remember,
            "memory_scope": "global_enabled",
            "id": id,
        });
        if self.vintage == Vintage::Slim2026 {
            value["is_read_only"] = json!(false);
            value["is_study_mode"] = json!(false);
            value["pinned_time"] = json!(null);
            value["voice"] = json!(null);
        }
        Generated {
            id,
            value,
            update_time,
            expected,
        }
    }

    fn expected_messages(&mut self) -> Expected {
        let mut count = 0;
        let mut last = "";
        for role in &self.path_roles {
            if !(*role == "assistant" && last == "assistant") {
                count += 1;
            }
            last = role;
        }
        let mut e = self.expected.clone();
        e.visible_messages = count;
        e
    }

    /// One user turn and the assistant's answer, in one of the shapes real exports have.
    fn exchange(&mut self, tip: usize, shape: &Shape, i: usize) -> usize {
        let kind = self.rng.u8(..100);
        let user_len = if self.rng.u8(..10) == 0 {
            self.rng.usize(400..2400)
        } else {
            self.rng.usize(20..400)
        };
        let answer_len = self
            .rng
            .usize(shape.answer_chars / 3..shape.answer_chars * 5 / 3 + 1);
        let mut question = Text::new(self.rng).prose(user_len);
        if shape.bad_unicode && i == 0 {
            question.push_str(&format!(" {LONE_SURROGATE} and {RAW_INVALID_UTF8}"));
            self.expected.needs_repair = true;
        }
        let plant = shape
            .plant
            .as_ref()
            .filter(|_| i == shape.exchanges.max(1) / 2);
        if let Some(fact) = plant {
            question.push(' ');
            question.push_str(fact);
        }
        let answer = Text::new(self.rng).answer(answer_len);
        let content = self.text(vec![json!(question)]);

        // An edited prompt: the first version and its answer are abandoned.
        let user = if kind < 4 {
            let first = self.text(vec![json!(format!("{DROPPED} first version"))]);
            let abandoned = self.hidden(tip, "user", None, first, "all");
            let old = self.text(vec![json!(format!("{DROPPED} old answer"))]);
            self.hidden(abandoned, "assistant", None, old, "all");
            self.visible(tip, "user", content)
        } else if kind < 10 {
            let image = json!({"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-abc123", "size_bytes": 123456, "width": 800, "height": 600});
            let parts = vec![image, json!(question)];
            self.visible(
                tip,
                "user",
                json!({"content_type": "multimodal_text", "parts": parts}),
            )
        } else if kind < 13 {
            let parts = vec![
                json!({"content_type": "audio_transcription", "text": question, "direction": "in"}),
                json!({"content_type": "audio_asset_pointer", "asset_pointer": "sediment://file_x", "size_bytes": 4000}),
            ];
            self.visible(
                tip,
                "user",
                json!({"content_type": "multimodal_text", "parts": parts}),
            )
        } else if kind < 15 {
            // A non-string part among the strings: skipped, the text survives.
            self.visible(
                tip,
                "user",
                json!({"content_type": "text", "parts": [question, 42]}),
            )
        } else {
            self.visible(tip, "user", content)
        };

        if let Some(fact) = plant {
            self.expected.planted = Some((self.nodes[user].id.clone(), fact.clone()));
        }
        let mut at = user;
        if (15..25).contains(&kind) {
            // A regeneration: the first answer is an abandoned sibling.
            let old = self.text(vec![json!(format!("{DROPPED} regenerated away"))]);
            self.hidden(user, "assistant", None, old, "all");
        } else if (25..32).contains(&kind) {
            at = self.tool_call(at);
        } else if (32..38).contains(&kind) {
            let thoughts = json!({"content_type": "thoughts", "thoughts": [{"summary": "Thinking", "content": format!("{DROPPED} reasoning")}], "source_analysis_msg_id": "x"});
            at = self.hidden(at, "assistant", None, thoughts, "all");
            let recap = json!({"content_type": "reasoning_recap", "content": format!("{DROPPED} Thought for 4s")});
            at = self.hidden(at, "assistant", None, recap, "all");
        } else if (38..41).contains(&kind) {
            at = self.bio_write(at, i);
        } else if kind == 41 {
            let future = json!({"content_type": "future_widget", "payload": format!("{DROPPED}")});
            at = self.hidden(at, "assistant", None, future, "all");
        }
        let cited = if kind.is_multiple_of(7) {
            format!("\u{E203}{answer}\u{E204} \u{E200}cite\u{E202}turn0search{i}\u{E201}\u{E206}")
        } else {
            answer
        };
        let reply = self.text(vec![json!(cited)]);
        at = self.visible(at, "assistant", reply);
        if kind.is_multiple_of(11) {
            // A continuation of the same reply: merged with it.
            let more = Text::new(self.rng).prose(200);
            let content = self.text(vec![json!(more)]);
            at = self.visible(at, "assistant", content);
        }
        at
    }

    /// Code sent to the python tool and its output: both left out.
    fn tool_call(&mut self, at: usize) -> usize {
        let code = json!({"content_type": "code", "language": "unknown", "text": format!("print('{DROPPED}')")});
        match self.vintage {
            Vintage::Full2025 => {
                let at = self.hidden(at, "assistant", None, code, "python");
                let out = json!({"content_type": "execution_output", "text": format!("{DROPPED} output")});
                self.hidden(at, "tool", Some("python"), out, "all")
            }
            // 2026 exports drop tool messages; the reasoning stays.
            Vintage::Slim2026 => {
                let recap = json!({"content_type": "reasoning_recap", "content": format!("{DROPPED} Analyzed")});
                self.hidden(at, "assistant", None, recap, "all")
            }
        }
    }

    /// A write to ChatGPT's memory: kept as a memory, not as a message.
    fn bio_write(&mut self, at: usize, i: usize) -> usize {
        let note = format!("User prefers short answers in the morning (noted in exchange {i}).");
        let content = self.text(vec![json!(note)]);
        self.expected.memories += 1;
        match self.vintage {
            Vintage::Full2025 => {
                let at = self.hidden(at, "assistant", None, content, "bio");
                let ack = self.text(vec![json!(format!("{DROPPED} Model set context updated."))]);
                self.hidden(at, "tool", Some("bio"), ack, "assistant")
            }
            Vintage::Slim2026 => self.hidden(at, "assistant", Some("bio"), content, "all"),
        }
    }

    fn mapping(&mut self) -> Value {
        let mut map = Map::new();
        let nodes = std::mem::take(&mut self.nodes);
        for node in &nodes {
            let mut entry = json!({
                "id": node.id,
                "message": node.message,
                "parent": node.parent.map(|p| nodes[p].id.clone()),
            });
            if self.vintage == Vintage::Full2025 {
                entry["children"] = json!(node
                    .children
                    .iter()
                    .map(|&c| nodes[c].id.clone())
                    .collect::<Vec<_>>());
            }
            map.insert(node.id.clone(), entry);
        }
        Value::Object(map)
    }
}
