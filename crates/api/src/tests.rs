//! Round trips through the Rust types with upstream's JSON field names: every field of a full
//! object survives deserialize → serialize, and admission accepts it.

use serde_json::Value;

use crate::admission::admit;
use crate::v1::{HTTPProxy, TLSCertificateDelegation};
use crate::v1alpha1::ExtensionService;

const FULL_PROXY: &str = r#"
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: full, namespace: default }
spec:
  ingressClassName: contour
  virtualhost:
    fqdn: www.example.com
    tls:
      secretName: cert
      minimumProtocolVersion: "1.2"
      maximumProtocolVersion: "1.3"
      enableFallbackCertificate: false
      clientValidation:
        caSecret: ca
        skipClientCertValidation: false
        crlSecret: crl
        crlOnlyVerifyLeafCert: true
        optionalClientCertificate: true
        forwardClientCertificate: { subject: true, cert: true, chain: false, dns: true, uri: false }
    authorization:
      extensionRef: { apiVersion: projectcontour.io/v1alpha1, namespace: auth, name: authz }
      serviceType: http
      httpSettings:
        pathPrefix: /check
        allowedAuthorizationHeaders: [{ prefix: x-auth-, ignoreCase: true }]
        allowedUpstreamHeaders: [{ exact: x-user }]
      authPolicy: { disabled: false, context: { k: v } }
      responseTimeout: 500ms
      failOpen: true
      withRequestBody: { maxRequestBytes: 2048, allowPartialMessage: true, packAsBytes: false }
    corsPolicy:
      allowCredentials: true
      allowOrigin: ["https://a.example.com"]
      allowMethods: [GET]
      allowHeaders: [authorization]
      exposeHeaders: [x-id]
      maxAge: 1h
      allowPrivateNetwork: true
    rateLimitPolicy:
      local: { requests: 10, unit: minute, burst: 5, responseStatusCode: 503, responseHeadersToAdd: [{ name: x-rl, value: "1" }] }
      global:
        disabled: false
        descriptors:
          - entries:
              - genericKey: { key: k, value: v }
              - requestHeader: { headerName: x-h, descriptorKey: h }
              - requestHeaderValueMatch: { headers: [{ name: x-a, notexact: b, treatMissingAsEmpty: true }], expectMatch: false, value: m }
              - remoteAddress: {}
    jwtProviders:
      - name: remote
        default: true
        issuer: https://idp
        audiences: [a]
        forwardJWT: true
        remoteJWKS:
          uri: https://idp/jwks
          timeout: 2s
          cacheDuration: 5m
          dnsLookupFamily: v4
          validation: { caSecret: ca, subjectName: idp, subjectNames: [idp, idp2] }
      - name: local
        localJWKS: { secretName: jwks, key: jwks.json }
    ipAllowPolicy: [{ source: Peer, cidr: 10.0.0.0/8 }]
  includes:
    - name: child
      namespace: team
      conditions: [{ prefix: /team }, { queryParameter: { name: q, exact: v, ignoreCase: true } }]
  routes:
    - conditions:
        - prefix: /
        - header: { name: x-a, notpresent: true }
        - header: { name: x-b, notcontains: c }
      enableWebsockets: true
      permitInsecure: true
      authPolicy: { disabled: true }
      timeoutPolicy: { response: 10s, idle: 1m, idleConnection: 1h }
      retryPolicy: { count: 2, perTryTimeout: 1s, retryOn: [retriable-status-codes], retriableStatusCodes: [503] }
      healthCheckPolicy:
        path: /healthz
        host: hc
        intervalSeconds: 5
        timeoutSeconds: 1
        unhealthyThresholdCount: 2
        healthyThresholdCount: 1
        expectedStatuses: [{ start: 200, end: 300 }]
      loadBalancerPolicy:
        strategy: RequestHash
        requestHashPolicies:
          - { terminal: true, headerHashOptions: { headerName: x-user } }
          - queryParameterHashOptions: { parameterName: id }
          - hashSourceIP: true
      pathRewritePolicy: { replacePrefix: [{ prefix: /team, replacement: / }] }
      requestHeadersPolicy: { set: [{ name: Host, value: "%REQ(x-host)%" }], remove: [x-drop] }
      responseHeadersPolicy: { set: [{ name: x-served-by, value: contour }] }
      cookieRewritePolicies:
        - { name: session, pathRewrite: { value: /app }, domainRewrite: { value: example.com }, secure: true, sameSite: Lax }
      rateLimitPolicy: { global: { disabled: true } }
      internalRedirectPolicy: { maxInternalRedirects: 2, redirectResponseCodes: [301, 307], allowCrossSchemeRedirect: SafeOnly, denyRepeatedRouteRedirect: true }
      jwtVerificationPolicy: { require: remote }
      ipDenyPolicy: [{ source: Remote, cidr: 192.168.0.1 }]
      services:
        - name: web
          port: 80
          healthPort: 8080
          protocol: tls
          weight: 90
          validation: { caSecret: ca, subjectName: web }
          requestHeadersPolicy: { remove: [x-a] }
          responseHeadersPolicy: { remove: [x-b] }
          cookieRewritePolicies: [{ name: c, secure: false }]
          slowStartPolicy: { window: 10s, aggression: "1.5", minWeightPercent: 5 }
        - { name: shadow, port: 80, mirror: true, weight: 10 }
    - conditions: [{ exact: /old }]
      requestRedirectPolicy: { scheme: https, hostname: new.example.com, port: 443, statusCode: 301, path: /new }
    - conditions: [{ regex: /gone/.* }]
      directResponsePolicy: { statusCode: 410, body: gone }
status:
  currentStatus: valid
  description: Valid HTTPProxy
  loadBalancer: { ingress: [{ ip: 1.2.3.4 }] }
  conditions:
    - type: Valid
      status: "True"
      observedGeneration: 3
      lastTransitionTime: "2024-01-01T00:00:00Z"
      reason: Valid
      message: Valid HTTPProxy
      warnings: [{ type: TLSError, status: "True", reason: IgnoredField, message: m }]
"#;

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &str) -> (Value, Value) {
    let input: Value = serde_norway::from_str(doc).expect("fixture parses");
    let typed: T = serde_json::from_value(input.clone()).expect("fixture fits the types");
    (input, serde_json::to_value(&typed).expect("serializes"))
}

#[test]
fn full_httpproxy_round_trips_and_is_admitted() {
    let (input, output) = round_trip::<HTTPProxy>(FULL_PROXY);
    assert_eq!(input, output);
    let mut admitted = input.clone();
    admit(&mut admitted).unwrap_or_else(|e| panic!("{e}"));
    // Only `status` changes: it is reset on create, then defaulted.
    assert_eq!(admitted["spec"], input["spec"]);
    assert_eq!(admitted["status"]["currentStatus"], "NotReconciled");
}

#[test]
fn other_kinds_round_trip() {
    let (input, output) = round_trip::<TLSCertificateDelegation>(
        "apiVersion: projectcontour.io/v1\nkind: TLSCertificateDelegation\n\
         metadata: {name: d, namespace: certs}\n\
         spec: {delegations: [{secretName: wild, targetNamespaces: ['*']}]}\n",
    );
    assert_eq!(input, output);
    let (input, output) = round_trip::<ExtensionService>(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\n\
         metadata: {name: authz, namespace: auth}\n\
         spec:\n  services: [{name: authz, port: 9443, weight: 1}]\n  protocol: h2\n  \
         protocolVersion: v3\n  validation: {caSecret: ca, subjectName: authz}\n  \
         loadBalancerPolicy: {strategy: Random}\n  timeoutPolicy: {response: 1s}\n  \
         circuitBreakerPolicy: {maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, \
         maxRetries: 4, perHostMaxConnections: 5}\n",
    );
    assert_eq!(input, output);
    let mut admitted = input;
    admit(&mut admitted).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn roots_compare_and_default() {
    let a = HTTPProxy::new("a", crate::v1::HTTPProxySpec::default());
    assert_eq!(a.clone(), a);
    assert_ne!(a, HTTPProxy::default());
    assert_eq!(ExtensionService::default(), ExtensionService::default());
    assert_eq!(
        TLSCertificateDelegation::default(),
        TLSCertificateDelegation::default()
    );
}

/// The object cache holds every HTTPProxy decoded, and nearly every optional policy is unset:
/// those are boxed, so that an unset one costs a pointer rather than the policy's size.
#[test]
fn unset_policies_cost_a_pointer() {
    use crate::v1::{HTTPProxySpec, MatchCondition, Route, Service, VirtualHost};
    use std::mem::size_of;
    assert!(size_of::<Route>() <= 256, "Route: {}", size_of::<Route>());
    assert!(
        size_of::<Service>() <= 160,
        "Service: {}",
        size_of::<Service>()
    );
    assert!(
        size_of::<VirtualHost>() <= 160,
        "VirtualHost: {}",
        size_of::<VirtualHost>()
    );
    assert!(
        size_of::<HTTPProxySpec>() <= 128,
        "HTTPProxySpec: {}",
        size_of::<HTTPProxySpec>()
    );
    assert!(
        size_of::<MatchCondition>() <= 96,
        "MatchCondition: {}",
        size_of::<MatchCondition>()
    );
}
