//! `seg run --cluster df://HOST:PORT`: segmentations run as portable plans on an
//! Apache DataFusion Ballista cluster (cargo feature `cluster`).
//!
//! The session still plans here: it reads the files' schemas and lists the files on
//! this machine, and the plan travels to the scheduler as datafusion-proto with the
//! paths in it. The stock scheduler and executors know DataFusion's functions only,
//! which is what the portable lowering (`lower::portable`) emits; a segmentation
//! that still needs a seg function is refused with E0801 before anything is sent.

use super::errors::not_on_cluster;
use super::session::{EngineError, Session};
use arrow::record_batch::RecordBatch;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

/// A connected cluster: its address as given (for messages) and its context.
pub struct Cluster {
    pub url: String,
    pub(super) ctx: SessionContext,
}

/// `df://HOST:PORT` split into host and port, or why not.
pub fn parse_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("df://")
        .ok_or_else(|| format!("`{url}` is not a cluster address: write df://HOST:PORT"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("`{url}` has no port: write df://HOST:PORT"))?;
    if host.is_empty() || host.contains('/') {
        return Err(format!("`{url}` has no host: write df://HOST:PORT"));
    }
    let port: u16 =
        port.parse().map_err(|_| format!("`{url}`: `{port}` is not a port number (1-65535)"))?;
    if port == 0 {
        return Err(format!("`{url}`: `0` is not a port number (1-65535)"));
    }
    Ok((host.to_string(), port))
}

/// The session state seg runs on a cluster with (both choices seen on loopback with
/// Ballista 55; docs/cluster.md):
/// - Ballista's adaptive planner is off: with it, tasks of one stage could run
///   different plans (an input found empty became an `EmptyExec` in some), the
///   scheduler refused their metrics, and the job never finished.
/// - One partition per stage: with 16, entity segmentations counted every row 16
///   times (`specs/streaming.seg`, `loyalty` and `tastes`). Until that is
///   understood, a stage runs as one task: right numbers, no parallelism within a
///   stage.
#[cfg(feature = "cluster")]
fn state() -> datafusion::error::Result<datafusion::execution::SessionState> {
    use ballista::prelude::SessionConfigExt;
    let mut config =
        datafusion::prelude::SessionConfig::new_with_ballista().with_target_partitions(1);
    config.options_mut().set("ballista.planner.adaptive.enabled", "false")?;
    // As in a local session (see `Session::new`): small sides are collected.
    config.options_mut().optimizer.repartition_joins = false;
    Ok(datafusion::execution::SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build())
}

impl Session {
    /// Runs this session's segmentations on the Ballista scheduler at `url`.
    #[cfg(feature = "cluster")]
    pub fn connect_cluster(&mut self, url: &str) -> Result<(), EngineError> {
        use ballista::prelude::SessionContextExt;
        let (host, port) = parse_url(url).map_err(EngineError::cluster)?;
        let address = format!("df://{host}:{port}");
        let ctx = self
            .runtime
            .block_on(async { SessionContext::remote_with_state(&address, state()?).await })
            .map_err(|e| EngineError::cluster(format!("the cluster at {url}: {e}")))?;
        self.cluster = Some(Cluster { url: url.to_string(), ctx });
        Ok(())
    }

    /// Without the `cluster` feature there is no Ballista client to connect with.
    #[cfg(not(feature = "cluster"))]
    pub fn connect_cluster(&mut self, url: &str) -> Result<(), EngineError> {
        parse_url(url).map_err(EngineError::cluster)?;
        Err(EngineError::cluster(
            "this seg was built without the `cluster` feature: build it with `cargo install --path . --features cluster`",
        ))
    }

    /// Segmentation `s` as the cluster runs it: the portable plan, refused (E0801)
    /// when a seg function is left in it.
    pub fn cluster_plan(&self, s: usize) -> Result<LogicalPlan, EngineError> {
        let plan = self.portable_plan(s)?;
        let refuse = |what: &str| EngineError::lowering(not_on_cluster(&self.program, s, what));
        if let Some(f) = crate::lower::portable::non_standard(&plan).first() {
            return Err(refuse(&crate::lower::portable::construct(f)));
        }
        if let Some(f) = unregistered(&plan).first() {
            return Err(refuse(&format!(
                "`over` with numbered periods (listed with DataFusion's `{f}`, which a stock executor does not register)"
            )));
        }
        Ok(plan)
    }

    pub(super) fn run_on_cluster(
        &self,
        cluster: &Cluster,
        s: usize,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        let plan = self.cluster_plan(s)?;
        self.execute_in(&cluster.ctx, plan, std::future::pending()).map_err(|e| match e {
            EngineError::Cancelled => EngineError::Cancelled,
            EngineError::Failed(d) => {
                let d = *d;
                let why: String = d.message.lines().next().unwrap_or_default().to_string();
                EngineError::cluster(format!("the cluster at {}: {why}", cluster.url))
            }
        })
    }
}

/// The functions in `plan` that a stock Ballista executor cannot decode: its
/// registry holds DataFusion's core scalar functions and default aggregate and
/// window functions (`ballista_core::registry`), not the nested (array) ones.
fn unregistered(plan: &LogicalPlan) -> Vec<String> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::expr::ScalarFunction;
    use datafusion::logical_expr::Expr;
    let known: std::collections::HashSet<String> = datafusion::functions::all_default_functions()
        .iter()
        .flat_map(|f| std::iter::once(f.name().to_string()).chain(f.aliases().iter().cloned()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|x| {
                if let Expr::ScalarFunction(ScalarFunction { func, .. }) = x {
                    let n = func.name();
                    if !known.contains(n) && !out.iter().any(|o| o == n) {
                        out.push(n.to_string());
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    out
}
