#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod authorize;
mod config;
mod decision_log;
mod error;
mod extract;
mod metrics;
mod pool;
mod route_table;
mod routes;
mod server;
mod state;

pub use authorize::{AuthorizeRequest, AuthorizeResponse, ContextInput, MatchedStatementOut, PositionOut};
pub use config::{run, Args, Config};
pub use decision_log::{DecisionLog, LogTarget};
pub use error::{ApiError, Error, ErrorBody, ErrorEnvelope};
pub use extract::ApiJson;
pub use metrics::Metrics;
pub use pool::EvalPool;
pub use route_table::{PathError, RouteMatch, RouteTable, RouteTableError};
pub use routes::router;
pub use server::{serve, shutdown_signal, Server};
pub use state::{AppState, Caller, Limits};
