//! Chat threads and their messages.

use std::sync::Arc;

use soulprint_core::ports::Store;
use time::Duration;

use super::{t0, user};

/// Messages keep the order they were appended in (`seq` from 1) and page backwards from a `seq`;
/// threads list latest first, titled by their first message; no other user sees them, and
/// forgetting takes them.
pub async fn chat_threads_keep_their_order_and_their_user(store: Arc<dyn Store>) {
    use soulprint_core::conversation::Role;
    use soulprint_core::ports::store::ChatMessage;
    let (u, other) = (user("chat"), user("chat-other"));
    let message = |thread: &str, text: &str, minute: i64| ChatMessage {
        thread_id: thread.into(),
        seq: 0,
        id: format!("{thread}-{text}"),
        role: if text.starts_with('q') {
            Role::User
        } else {
            Role::Assistant
        },
        text: text.into(),
        answered_by: None,
        at: t0() + Duration::minutes(minute),
    };
    store
        .append_chat(&u, &[message("t1", "q1", 0), message("t1", "a1", 1)])
        .await
        .unwrap();
    store
        .append_chat(&u, &[message("t2", "q9", 5)])
        .await
        .unwrap();
    store
        .append_chat(&u, &[message("t1", "q2", 2), message("t1", "a2", 3)])
        .await
        .unwrap();
    let all = store.chat_messages(&u, "t1", None, 10).await.unwrap();
    let texts: Vec<_> = all.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["q1", "a1", "q2", "a2"]);
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    // Pages: the last two, then the two before.
    let last = store.chat_messages(&u, "t1", None, 2).await.unwrap();
    assert_eq!(last[0].text, "q2");
    let before = store
        .chat_messages(&u, "t1", Some(last[0].seq), 2)
        .await
        .unwrap();
    assert_eq!(
        before.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["q1", "a1"]
    );
    let threads = store.chat_threads(&u).await.unwrap();
    assert_eq!(
        threads.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["t2", "t1"]
    );
    assert_eq!((threads[1].title.as_str(), threads[1].messages), ("q1", 4));
    assert!(store.chat_threads(&other).await.unwrap().is_empty());
    assert!(store
        .chat_messages(&other, "t1", None, 10)
        .await
        .unwrap()
        .is_empty());
    store.forget(&u).await.unwrap();
    assert!(store.chat_threads(&u).await.unwrap().is_empty());
}
