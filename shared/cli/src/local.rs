//! What every pipeline command shares: where the data lives, which model answers, who the
//! local user is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use soulprint_core::model::Model;
use soulprint_core::ports::{Llm, UserId};
use soulprint_local::openai::{OpenAiCompatible, OpenAiConfig};
use soulprint_local::tavily::{Tavily, TAVILY_URL};
use soulprint_local::{Local, LocalOptions, Offline};

#[derive(clap::Args, Clone)]
pub struct LocalArgs {
    /// Where SoulPrint keeps its data (blobs, database) [default: ~/.local/share/soulprint]
    #[arg(long, value_name = "DIR", env = "SOULPRINT_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// An OpenAI-compatible API to use as the model, up to `/v1` (Ollama:
    /// http://127.0.0.1:11434/v1; llama.cpp's server: http://127.0.0.1:8080/v1). Without it,
    /// the offline engine reads the export by rules, with no model at all.
    #[arg(long, value_name = "URL", env = "SOULPRINT_MODEL_URL", global = true)]
    pub model_url: Option<String>,
    /// The model's name at --model-url (e.g. qwen2.5:7b).
    #[arg(long, value_name = "NAME", env = "SOULPRINT_MODEL", global = true)]
    pub model: Option<String>,
    /// A bearer key for --model-url, if it needs one.
    #[arg(
        long,
        value_name = "KEY",
        env = "SOULPRINT_API_KEY",
        hide_env_values = true,
        global = true
    )]
    pub api_key: Option<String>,
    /// US dollars per million input tokens and per million output tokens, for the cost shown.
    #[arg(long, value_name = "IN,OUT", env = "SOULPRINT_MODEL_PRICE", value_parser = parse_price, global = true)]
    pub model_price: Option<(f64, f64)>,
    /// Another model at --model-url for fact extraction, the bulk of the tokens (a smaller,
    /// cheaper one); the quick pass, MEMORY and chat keep --model. [default: --model]
    #[arg(long, value_name = "NAME", env = "SOULPRINT_FACT_MODEL", global = true)]
    pub fact_model: Option<String>,
    /// --fact-model's price: dollars per million input and output tokens.
    #[arg(long, value_name = "IN,OUT", env = "SOULPRINT_FACT_MODEL_PRICE", value_parser = parse_price, global = true)]
    pub fact_model_price: Option<(f64, f64)>,
    /// The model's context window in tokens, when it is small (a local 0.5B–8B model): the
    /// sample, the chunks and the answers shrink to fit it.
    #[arg(long, value_name = "TOKENS", env = "SOULPRINT_MODEL_CONTEXT", value_parser = clap::value_parser!(u32).range(2_048..), global = true)]
    pub model_context: Option<u32>,
    /// Chunk batches worked on at once in the full pass.
    #[arg(
        long,
        value_name = "N",
        env = "SOULPRINT_FACT_WORKERS",
        default_value_t = 5,
        global = true
    )]
    pub fact_workers: usize,
    /// The fact model's tokens a minute, when its server has a quota: the fact workers' calls
    /// (their input and the answer's token limit) stay within it, and a call past it waits a
    /// minute or so instead of failing.
    #[arg(long, value_name = "TOKENS", env = "SOULPRINT_FACT_TPM", global = true)]
    pub fact_tpm: Option<u64>,
    /// Whose data this is. The CLI acts for one local user.
    #[arg(
        long,
        value_name = "ID",
        env = "SOULPRINT_USER",
        default_value = "local",
        global = true,
        hide = true
    )]
    pub user: String,
}

fn parse_price(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?}: give two prices, input and output, like 1,5"))?;
    let p = |x: &str| {
        x.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{x:?} is not a price in dollars per million tokens"))
    };
    Ok((p(a)?, p(b)?))
}

impl LocalArgs {
    pub fn user(&self) -> anyhow::Result<UserId> {
        UserId::new(self.user.clone()).context("--user")
    }

    pub fn llm(&self) -> anyhow::Result<Arc<dyn Llm>> {
        match (&self.model_url, &self.model) {
            (None, None) => {
                if self.fact_model.is_some() {
                    bail!("--fact-model needs --model-url and --model: the offline engine has no models to choose");
                }
                Ok(Arc::new(Offline))
            }
            (Some(_), None) => bail!("--model-url needs --model: the name of the model to ask there"),
            (None, Some(_)) => bail!("--model needs --model-url: where the model is served (OpenAI-compatible, up to /v1)"),
            (Some(_), Some(model)) => self.served(model, self.model_price),
        }
    }

    /// Fact extraction's model, when --fact-model names one.
    pub fn fact_llm(&self) -> anyhow::Result<Option<Arc<dyn Llm>>> {
        match (&self.model_url, &self.fact_model) {
            (Some(_), Some(model)) => Ok(Some(self.served(model, self.fact_model_price)?)),
            _ => Ok(None),
        }
    }

    /// `model` at --model-url, through the domain's recipe.
    fn served(&self, model: &str, price: Option<(f64, f64)>) -> anyhow::Result<Arc<dyn Llm>> {
        let url = self.model_url.as_deref().unwrap_or_default();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--model-url {url:?}: give an http:// or https:// address, up to /v1");
        }
        let mut config = OpenAiConfig::new(url, model);
        config.api_key = self.api_key.clone();
        if let Some((i, o)) = price {
            (config.price_in, config.price_out) = (i, o);
        }
        config.timeout = Duration::from_secs(600);
        config.context_tokens = self.model_context;
        Ok(Arc::new(Model::new(Arc::new(OpenAiCompatible::new(
            config,
        )?))))
    }

    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        self.data_dir
            .clone()
            .or_else(Local::data_dir_default)
            .context("no data directory: set --data-dir or SOULPRINT_DATA_DIR (HOME is not set)")
    }

    pub fn open(&self) -> anyhow::Result<Local> {
        if self.fact_workers == 0 {
            bail!("--fact-workers must be at least 1");
        }
        Ok(Local::open(LocalOptions {
            data_dir: self.data_dir()?,
            llm: self.llm()?,
            fact_llm: self.fact_llm()?,
            fact_workers: self.fact_workers,
            fact_tokens_per_minute: self.fact_tpm,
        })?)
    }
}

/// What chat needs beyond the pipeline (`soulprint chat` and `soulprint serve`).
#[derive(clap::Args, Clone)]
pub struct ChatOptions {
    /// A Tavily API key: the model may then search the web (at most 3 searches a message)
    /// and cite what it found.
    #[arg(
        long,
        value_name = "KEY",
        env = "TAVILY_API_KEY",
        hide_env_values = true
    )]
    web_search_key: Option<String>,
    /// Where Tavily's API answers.
    #[arg(long, value_name = "URL", default_value = TAVILY_URL, hide = true)]
    web_search_url: String,
}

impl LocalArgs {
    /// The local world set up for chat: when a configured model fails, the offline engine
    /// answers with what it recalls (and says so); with a key, the model may search the web.
    pub fn open_for_chat(&self, chat: &ChatOptions) -> anyhow::Result<Local> {
        let mut local = self.open()?;
        if self.model_url.is_some() {
            local.ports.fallback_llm = Some(Arc::new(Offline));
        }
        if let Some(key) = &chat.web_search_key {
            local.ports.web = Some(Arc::new(Tavily::new(
                chat.web_search_url.clone(),
                key.clone(),
            )?));
        }
        Ok(local)
    }
}

/// A runtime for the pipeline commands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
