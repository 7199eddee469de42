//! contour-envoy
