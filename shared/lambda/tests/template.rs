//! template.yaml says what operators rely on: the authorizer on every route but health, every
//! documented route served, functions built the same way, queues that survive their consumers.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

fn functions(t: &Value) -> Vec<(&String, &Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .collect()
}

/// (method, path, authorizer) of every HTTP API route.
fn routes(t: &Value) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for (_, f) in functions(t) {
        for (_, e) in f["Properties"]["Events"].as_object().into_iter().flatten() {
            if e["Type"] == "HttpApi" {
                let p = &e["Properties"];
                out.push((
                    p["Method"].as_str().unwrap().to_uppercase(),
                    p["Path"].as_str().unwrap().to_owned(),
                    p["Auth"]["Authorizer"].as_str().map(str::to_owned),
                ));
            }
        }
    }
    out
}

#[test]
fn every_route_but_health_and_the_contract_has_the_jwt_authorizer() {
    let t = common::template();
    let api = &t["Resources"]["HttpApi"]["Properties"]["Auth"];
    assert_eq!(api["DefaultAuthorizer"], "Jwt");
    let jwt = &api["Authorizers"]["Jwt"]["JwtConfiguration"];
    assert_eq!(jwt["issuer"], serde_json::json!({"Ref": "JwtIssuer"}));
    assert_eq!(
        jwt["audience"][0],
        serde_json::json!({"Ref": "JwtAudience"})
    );
    let open: BTreeSet<String> = routes(&t)
        .into_iter()
        .filter(|(_, _, auth)| auth.is_some())
        .map(|(m, p, auth)| {
            assert_eq!(
                auth.as_deref(),
                Some("NONE"),
                "only NONE overrides the default"
            );
            format!("{m} {p}")
        })
        .collect();
    assert_eq!(
        open,
        BTreeSet::from(["GET /health".to_owned(), "GET /openapi.json".to_owned()])
    );
}

#[test]
fn every_documented_operation_is_served() {
    let t = common::template();
    let served: BTreeSet<String> = routes(&t)
        .into_iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    let openapi: Value = serde_json::from_str(soulprint_http::OPENAPI).unwrap();
    for (path, ops) in openapi["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let op = format!("{} {path}", method.to_uppercase());
            match op.as_str() {
                // Streaming cannot pass an HTTP API: the chat-stream Function URL serves it.
                "POST /chat/stream" => {
                    let url =
                        &t["Resources"]["ChatStreamFunction"]["Properties"]["FunctionUrlConfig"];
                    assert_eq!(url["InvokeMode"], "RESPONSE_STREAM");
                }
                // The page is `soulprint serve`'s; on AWS a static host serves it.
                "GET /" => {}
                _ => assert!(served.contains(&op), "{op} is documented but not routed"),
            }
        }
    }
}

/// Each API function serves its group of routes and nothing else: the template routes exactly
/// the group's routes to it, and its `main.rs` mounts that group.
#[test]
fn each_api_function_is_routed_exactly_its_groups_routes() {
    use soulprint_http::RouteGroup;
    let t = common::template();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../functions/");
    for group in RouteGroup::ALL {
        let (name, f) = functions(&t)
            .into_iter()
            .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"] == group.function())
            .unwrap_or_else(|| panic!("no function builds {}", group.function()));
        let routed: BTreeSet<String> = f["Properties"]["Events"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, e)| e["Type"] == "HttpApi")
            .map(|(_, e)| {
                let p = &e["Properties"];
                format!(
                    "{} {}",
                    p["Method"].as_str().unwrap().to_uppercase(),
                    p["Path"].as_str().unwrap()
                )
            })
            .collect();
        let mut wanted: BTreeSet<String> = group
            .routes()
            .iter()
            .map(|(m, p)| format!("{m} {p}"))
            .collect();
        match group {
            // The page is `soulprint serve`'s; on AWS a static host serves it.
            RouteGroup::Health => {
                wanted.remove("GET /");
            }
            // A Function URL: every request reaches the function, which serves the stream only.
            RouteGroup::ChatStream => {
                assert!(f["Properties"]["FunctionUrlConfig"].is_object(), "{name}");
                wanted.clear();
            }
            _ => {}
        }
        assert_eq!(routed, wanted, "{name}");
        let main =
            std::fs::read_to_string(format!("{root}{}/src/main.rs", group.function())).unwrap();
        let mounted = match group {
            RouteGroup::ChatStream => "stream::app(".to_owned(),
            _ => format!("RouteGroup::{group:?}"),
        };
        assert!(main.contains(&mounted), "{name}'s main.rs mounts {mounted}");
    }
}

/// Each worker drains one queue: the template's event source is that queue, and `main.rs`
/// names it (the handler refuses jobs of any other).
#[test]
fn each_worker_drains_the_queue_it_names() {
    let t = common::template();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../functions/");
    for (binary, queue, variant) in [
        ("import-worker", "ImportsQueue", "Imports"),
        ("full-pass", "FullPassQueue", "FullPass"),
        ("fact-worker", "FactsQueue", "Facts"),
        ("memory-finalizer", "FinalizeQueue", "Finalize"),
    ] {
        let (name, f) = functions(&t)
            .into_iter()
            .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"] == binary)
            .unwrap();
        let sources: Vec<&str> = f["Properties"]["Events"]
            .as_object()
            .unwrap()
            .values()
            .filter(|e| e["Type"] == "SQS")
            .filter_map(|e| e["Properties"]["Queue"]["Fn::GetAtt"].as_str())
            .collect();
        assert_eq!(sources, [format!("{queue}.Arn")], "{name}");
        let main = std::fs::read_to_string(format!("{root}{binary}/src/main.rs")).unwrap();
        assert!(main.contains(&format!("QueueName::{variant}")), "{binary}");
    }
}

#[test]
fn every_function_is_an_arm64_cargo_lambda_build_of_a_function_here() {
    let t = common::template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    let fs = functions(&t);
    assert_eq!(fs.len(), 10);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../functions/");
    for (name, f) in fs {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        assert!(
            std::path::Path::new(root)
                .join(binary)
                .join("src/main.rs")
                .exists(),
            "{name} builds {binary}, which is not in functions/"
        );
    }
}

#[test]
fn every_worker_queue_has_a_dead_letter_queue_and_outlives_its_consumer() {
    let t = common::template();
    let resources = t["Resources"].as_object().unwrap();
    let mut consumers = 0;
    for (name, f) in functions(&t) {
        for (_, e) in f["Properties"]["Events"].as_object().into_iter().flatten() {
            if e["Type"] != "SQS" {
                continue;
            }
            consumers += 1;
            let p = &e["Properties"];
            assert_eq!(
                p["FunctionResponseTypes"][0], "ReportBatchItemFailures",
                "{name}"
            );
            let queue = p["Queue"]["Fn::GetAtt"]
                .as_str()
                .unwrap()
                .trim_end_matches(".Arn");
            let q = &resources[queue]["Properties"];
            let visibility = q["VisibilityTimeout"].as_u64().unwrap();
            let timeout = f["Properties"]["Timeout"].as_u64().unwrap();
            assert!(
                visibility >= timeout,
                "{queue} hides a message {visibility}s, {name} runs {timeout}s"
            );
            let receives = q["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
            assert!(
                receives > soulprint_core::stages::MAX_RECEIVES as u64,
                "{queue}: the workers record a failure before SQS moves the message"
            );
        }
    }
    assert_eq!(consumers, 4);
    let facts = &resources["FactWorkerFunction"]["Properties"]["Events"]["Facts"]["Properties"];
    assert_eq!(
        facts["ScalingConfig"]["MaximumConcurrency"],
        serde_json::json!({"Ref": "FactWorkerConcurrency"})
    );
}

#[test]
fn the_state_machine_times_out_and_records_both_stages() {
    let t = common::template();
    let resources = &t["Resources"];
    let definition = &resources["ImportStateMachine"]["Properties"]["Definition"];
    let states = &definition["States"];
    let visibility = |queue: &str| {
        resources[queue]["Properties"]["VisibilityTimeout"]
            .as_u64()
            .unwrap()
    };
    let seconds = |state: &str, what: &str| states[state][what].as_u64().unwrap();
    // A job that failed in a way that passes comes back after its queue's visibility timeout:
    // the waiting state must still be waiting then, or no retry could ever count.
    assert!(seconds("Quick", "TimeoutSeconds") >= 2 * visibility("ImportsQueue"));
    assert!(seconds("Full", "HeartbeatSeconds") > visibility("FullPassQueue"));
    assert!(seconds("Full", "HeartbeatSeconds") > visibility("FactsQueue"));
    // Stuck is defined once: no batch recorded for the domain's window. The Full state's
    // heartbeat is that window (every recorded batch beats), and nothing else times it out
    // before the execution's own day.
    let stalled = soulprint_core::import_state::STALLED_AFTER.whole_seconds() as u64;
    assert_eq!(seconds("Full", "HeartbeatSeconds"), stalled);
    assert!(
        seconds("Full", "TimeoutSeconds") >= 12 * 3600,
        "a 2 GB export finishes"
    );
    assert!(
        definition["TimeoutSeconds"].as_u64().unwrap()
            >= seconds("Quick", "TimeoutSeconds") + seconds("Full", "TimeoutSeconds")
    );
    // One failed execution pages; a stalled batch queue and a throttled model are seen too.
    let alarm = |name: &str| &resources[name]["Properties"];
    assert_eq!(
        alarm("FailedImportsAlarm")["MetricName"],
        "ExecutionsFailed"
    );
    assert_eq!(alarm("FailedImportsAlarm")["Threshold"], 0);
    assert_eq!(
        alarm("FactsQueueAgeAlarm")["MetricName"],
        "ApproximateAgeOfOldestMessage"
    );
    assert_eq!(
        alarm("FactsQueueAgeAlarm")["Threshold"].as_u64(),
        Some(stalled)
    );
    assert_eq!(
        alarm("FactModelThrottlingAlarm")["MetricName"],
        "InvocationThrottles"
    );
    for (stage, record) in [
        ("Quick", "RecordImportFailed"),
        ("Full", "RecordFullPassFailed"),
    ] {
        assert_eq!(
            states[stage]["Resource"],
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
        );
        assert_eq!(states[stage]["Catch"][0]["Next"], record);
        assert_eq!(
            states[record]["Parameters"]["MessageBody"]["job"],
            "supervisor_gave_up"
        );
    }
}

/// Each function's statements, flattened: (actions, resource as YAML text, condition).
fn statements(f: &Value) -> Vec<(Vec<String>, String, Value)> {
    let mut out = Vec::new();
    for policy in f["Properties"]["Policies"].as_array().into_iter().flatten() {
        for st in policy["Statement"].as_array().into_iter().flatten() {
            let actions = match &st["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(list) => list
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            out.push((actions, st["Resource"].to_string(), st["Condition"].clone()));
        }
    }
    out
}

/// Least privilege by rule: no function holds SAM's S3 policies (S3CrudPolicy grants
/// lifecycle and ACL changes), every S3 action is on `users/*` (listing too, by a prefix
/// condition), and each function has exactly the S3 actions its work needs. No API function
/// sends to a queue (the state machine does, for the executions they start) but the memory
/// function, whose `DELETE /me` queues the forgetting; each worker may send to its own queue.
#[test]
fn s3_access_is_each_functions_own_and_under_users_only() {
    let t = common::template();
    let needs: &[(&str, &[&str])] = &[
        (
            "trigger",
            &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
                "s3:PutObjectTagging",
            ],
        ),
        ("status", &[]),
        ("chat", &["s3:GetObject"]),
        ("chat-stream", &["s3:GetObject"]),
        (
            "memory",
            &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:PutObject",
            ],
        ),
        ("health", &["s3:GetObject"]),
        (
            "import-worker",
            &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:PutObject",
            ],
        ),
        (
            "full-pass",
            &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:PutObject",
            ],
        ),
        (
            "fact-worker",
            &["s3:DeleteObject", "s3:GetObject", "s3:ListBucket"],
        ),
        (
            "memory-finalizer",
            &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:PutObject",
            ],
        ),
    ];
    for (binary, wanted) in needs {
        let (name, f) = functions(&t)
            .into_iter()
            .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"] == *binary)
            .unwrap();
        let policies = f["Properties"]["Policies"].to_string();
        assert!(
            !policies.contains("S3CrudPolicy") && !policies.contains("S3ReadPolicy"),
            "{name}"
        );
        let mut granted: Vec<String> = Vec::new();
        for (actions, resource, condition) in statements(f) {
            for action in actions.iter().filter(|a| a.starts_with("s3:")) {
                if action == "s3:ListBucket" {
                    assert!(resource.contains("Bucket.Arn"), "{name}: {resource}");
                    assert_eq!(
                        condition["StringLike"]["s3:prefix"],
                        serde_json::json!(["users/*"]),
                        "{name}"
                    );
                } else {
                    assert!(
                        resource.contains("${Bucket.Arn}/users/*"),
                        "{name}: {resource}"
                    );
                }
                granted.push(action.clone());
            }
        }
        granted.sort();
        granted.dedup();
        assert_eq!(granted, *wanted, "{name}");
        if ["trigger", "status", "chat", "health"].contains(binary) {
            assert!(
                !policies.contains("SQSSendMessagePolicy"),
                "{name} sends to no queue"
            );
        }
        // A worker sends to its own queue (a throttled job waits there as a new message);
        // the memory function to the imports queue (forgetting is a job).
        let own = match *binary {
            "import-worker" | "memory" => Some("ImportsQueue"),
            "full-pass" => Some("FullPassQueue"),
            "fact-worker" => Some("FactsQueue"),
            "memory-finalizer" => Some("FinalizeQueue"),
            _ => None,
        };
        if let Some(queue) = own {
            assert!(
                policies.contains(&format!("{queue}.QueueName")),
                "{name} may send to {queue}"
            );
        }
    }
}

/// The operator's knobs: logs expire, the API's access log is on (and holds no header), the
/// Function URL's function has reserved concurrency, each person's imports have a budget, and
/// the dead-letter queues are given as the ARNs a redrive needs.
#[test]
fn logs_expire_the_stream_is_capped_and_the_outputs_serve_a_redrive() {
    let t = common::template();
    let resources = t["Resources"].as_object().unwrap();
    for (name, _) in functions(&t) {
        let logs = format!("{}Logs", name.trim_end_matches("Function"));
        assert_eq!(
            resources[&logs]["Properties"]["RetentionInDays"],
            serde_json::json!({"Ref": "LogRetentionDays"}),
            "{name}"
        );
    }
    let access = &resources["HttpApi"]["Properties"]["AccessLogSettings"];
    let format = access["Format"].as_str().unwrap();
    assert!(!format.to_lowercase().contains("header") && !format.contains("authorization"));
    assert_eq!(
        resources["ChatStreamFunction"]["Properties"]["ReservedConcurrentExecutions"],
        serde_json::json!({"Ref": "ChatStreamConcurrency"})
    );
    let trigger = &resources["TriggerFunction"]["Properties"]["Environment"]["Variables"];
    assert!(trigger["IMPORTS_PER_DAY"].is_object() && trigger["MODEL_SPEND_PER_MONTH"].is_object());
    let dlqs = t["Outputs"]["DeadLetterQueues"]["Value"].to_string();
    assert_eq!(dlqs.matches("DeadLetters.Arn").count(), 4, "{dlqs}");
}
