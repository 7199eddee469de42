//! contour-testkit
