//! Authentication and authorization, with no HTTP types: passwords, access tokens, refresh
//! tokens, the login/refresh/logout flows ([`AuthService`]) and the policy table.

pub mod password;
pub mod policy;
pub mod secret;
pub mod service;
pub mod tokens;

pub use policy::{Decision, Resource, decide};
pub use service::{AuthService, AuthenticateError, LoginError, Session};
pub use tokens::{AuthError, Principal, TokenService};
