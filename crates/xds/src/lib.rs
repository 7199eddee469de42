//! contour-xds
