//! Durations as upstream reads and prints them. One implementation for the whole workspace
//! lives in `contour_api::duration`; the build uses it under the names it always had.

pub use contour_api::duration::{
    DurationError, TimeoutSetting as Timeout, go_duration_string, parse_go_duration, parse_go_nanos,
};
