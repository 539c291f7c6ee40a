//! AWS configuration and clients: credentials, region and endpoint by the AWS conventions
//! (`aws-config`: profiles, environment, `AWS_ENDPOINT_URL`), an HTTPS client on rustls with
//! `ring`, and the standard retry mode, which retries throttling and transient errors with
//! exponential backoff.
//!
//! Nothing here logs or formats a credential.

use crate::error::{Error, Result};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use std::time::Duration;

/// How to reach AWS. Every field left `None` follows the AWS conventions (environment,
/// profile files, instance metadata).
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// The region (else `AWS_REGION`, then the profile's).
    pub region: Option<String>,
    /// The profile (else `AWS_PROFILE`, then `default`).
    pub profile: Option<String>,
    /// An endpoint for every service (else `AWS_ENDPOINT_URL` and its per-service forms);
    /// tests point it at a moto server.
    pub endpoint_url: Option<String>,
    /// Attempts per call, the first included (the SDK's standard retry mode).
    pub max_attempts: u32,
    /// The first retry's backoff (doubled on each further retry, with jitter).
    pub initial_backoff: Duration,
}

impl Default for AwsOptions {
    fn default() -> AwsOptions {
        AwsOptions {
            region: None,
            profile: None,
            endpoint_url: None,
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
        }
    }
}

/// The HTTP client every AWS client uses: hyper on rustls with the `ring` provider (the
/// SDK's default is aws-lc-rs, a C build; kube uses `ring`, so one provider is built).
pub fn http_client() -> aws_sdk_ecs::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The retry settings for [`AwsOptions`].
pub fn retry_config(opts: &AwsOptions) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(opts.max_attempts.max(1))
        .with_initial_backoff(opts.initial_backoff)
}

/// Loads the shared AWS configuration and checks that credentials can be found (without
/// calling AWS), so a machine without credentials fails before any change.
pub async fn load(opts: &AwsOptions) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry_config(opts));
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    let config = loader.load().await;
    check_credentials(&config).await?;
    Ok(config)
}

/// Fails with [`Error::Credentials`] when no credentials can be loaded.
pub async fn check_credentials(config: &SdkConfig) -> Result<()> {
    let Some(provider) = config.credentials_provider() else {
        return Err(Error::Credentials {
            problem: "are not configured".to_string(),
        });
    };
    provider
        .provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| Error::Credentials {
            problem: format!(
                "could not be loaded ({})",
                aws_sdk_ecs::error::DisplayErrorContext(&e)
            ),
        })
}

/// One client per AWS service the driver calls.
#[derive(Debug, Clone)]
pub struct Clients {
    /// ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Application Auto Scaling.
    pub scaling: aws_sdk_applicationautoscaling::Client,
    /// Elastic Load Balancing v2.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// SSM Parameter Store (secrets as SecureString, and the deploy state).
    pub ssm: aws_sdk_ssm::Client,
    /// The region the clients talk to.
    pub region: String,
}

impl Clients {
    /// Clients sharing one configuration.
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            ecs: aws_sdk_ecs::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            scaling: aws_sdk_applicationautoscaling::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
        }
    }
}
