//! contour-api
