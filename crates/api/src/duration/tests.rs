use super::*;
use rstest::rstest;

#[rstest]
#[case::zero("0", 0)]
#[case::zero_unit("0s", 0)]
#[case::seconds("5s", 5_000_000_000)]
#[case::fraction_hours("1.5h", 5_400_000_000_000)]
#[case::compound("1h30m", 5_400_000_000_000)]
#[case::millis("300ms", 300_000_000)]
#[case::negative("-2m", -120_000_000_000)]
#[case::plus("+10s", 10_000_000_000)]
#[case::leading_dot(".5s", 500_000_000)]
#[case::trailing_dot("1.s", 1_000_000_000)]
#[case::micro("2us", 2_000)]
#[case::micro_sign("2µs", 2_000)]
#[case::greek_mu("2μs", 2_000)]
#[case::nanos("1ns", 1)]
#[case::sub_nano_dropped("1.9ns", 1)]
#[case::long_fraction("1.999999999999999999999999999999999999h", 7_200_000_000_000)]
#[case::third("0.333333333s", 333_333_333)]
fn parses_like_go(#[case] input: &str, #[case] nanos: i128) {
    assert_eq!(parse_go_nanos(input), Ok(nanos), "{input}");
}

#[rstest]
#[case::empty("", "time: invalid duration \"\"")]
#[case::word("abc", "time: invalid duration \"abc\"")]
#[case::no_unit("10", "time: missing unit in duration \"10\"")]
#[case::bad_unit("3d", "time: unknown unit \"d\" in duration \"3d\"")]
#[case::spaced(
    "10 seconds",
    "time: unknown unit \" seconds\" in duration \"10 seconds\""
)]
#[case::lone_dot(".s", "time: invalid duration \".s\"")]
#[case::double_dot("1..2s", "time: missing unit in duration \"1..2s\"")]
#[case::sign_only("-", "time: invalid duration \"-\"")]
#[case::out_of_range("9999999999h", "time: invalid duration \"9999999999h\"")]
#[case::huge(
    "99999999999999999999999999999999999999999h",
    "time: invalid duration \"99999999999999999999999999999999999999999h\""
)]
fn refuses_like_go(#[case] input: &str, #[case] message: &str) {
    assert_eq!(parse_go_nanos(input), Err(DurationError(message.into())));
}

#[test]
fn std_durations_are_never_negative() {
    assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(
        parse_go_duration("-1s").unwrap_err().0,
        "time: invalid duration \"-1s\""
    );
}

#[rstest]
#[case(0, "0s")]
#[case(1_000_000_000, "1s")]
#[case(1_500_000_000, "1.5s")]
#[case(60_000_000_000, "1m0s")]
#[case(3_600_000_000_000, "1h0m0s")]
#[case(3_723_000_000_000, "1h2m3s")]
#[case(500_000_000, "500ms")]
#[case(1_500_000, "1.5ms")]
#[case(1_000, "1µs")]
#[case(10, "10ns")]
fn prints_like_go(#[case] nanos: u64, #[case] want: &str) {
    assert_eq!(go_duration_string(Duration::from_nanos(nanos)), want);
}

#[test]
fn timeout_settings_follow_upstream() {
    assert_eq!(TimeoutSetting::parse(""), Ok(TimeoutSetting::Default));
    assert_eq!(TimeoutSetting::parse("0s"), Ok(TimeoutSetting::Default));
    assert_eq!(
        TimeoutSetting::parse("infinity"),
        Ok(TimeoutSetting::Disabled)
    );
    assert_eq!(
        TimeoutSetting::parse("infinite"),
        Ok(TimeoutSetting::Disabled)
    );
    assert_eq!(
        TimeoutSetting::parse("2s"),
        Ok(TimeoutSetting::Duration(Duration::from_secs(2)))
    );
    assert_eq!(
        TimeoutSetting::parse("xx").unwrap_err().0,
        "unable to parse timeout string \"xx\": time: invalid duration \"xx\""
    );
}
