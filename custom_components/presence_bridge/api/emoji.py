"""Zulip's names for common Unicode emoji, by which a status emoji can be given.

A subset: Zulip has no REST endpoint listing its Unicode emoji (only the custom
ones, `GET /realm/emoji`); its full table is generated into the server and web
app from emoji data at build time. These entries are copied from that table
(zulip/zulip `tools/setup/emoji/custom_emoji_names.py`, canonical names and a few
aliases) and chosen for statuses: the presets' emoji, travel, food, health,
work, calls and weather. Codes are Zulip's: dash-separated lower-case hex code
points, without variation selectors.
"""

UNICODE_EMOJI: dict[str, str] = {
    # Zulip's suggested statuses.
    "calendar": "1f4c5",
    "bus": "1f68c",
    "hurt": "1f915",
    "palm_tree": "1f334",
    "house": "1f3e0",
    "working_on_it": "1f6e0",
    "office": "1f3e2",
    # Away and travelling.
    "car": "1f697",
    "taxi": "1f695",
    "train": "1f682",
    "subway": "1f687",
    "bike": "1f6b2",
    "walking": "1f6b6",
    "running": "1f3c3",
    "airplane": "2708",
    "take_off": "1f6eb",
    "landing": "1f6ec",
    "beach_umbrella": "26f1",
    "beach": "1f3d6",
    "island": "1f3dd",
    "tent": "26fa",
    # Food and breaks.
    "coffee": "2615",
    "tea": "1f375",
    "pizza": "1f355",
    "hamburger": "1f354",
    "food": "1f372",
    "hungry": "1f37d",
    "fork_and_knife": "1f374",
    "cake": "1f370",
    "birthday": "1f382",
    "beer": "1f37a",
    # Health and rest.
    "sick": "1f912",
    "cant_talk": "1f637",
    "medicine": "1f48a",
    "hospital": "1f3e5",
    "sleeping": "1f634",
    "sleepy": "1f62a",
    "zzz": "1f4a4",
    "in_bed": "1f6cc",
    # Work and focus.
    "computer": "1f4bb",
    "keyboard": "2328",
    "books": "1f4da",
    "book": "1f4d6",
    "memo": "1f4dd",
    "pencil": "270f",
    "light_bulb": "1f4a1",
    "direct_hit": "1f3af",
    "time_ticking": "23f3",
    "alarm_clock": "23f0",
    "stopwatch": "23f1",
    "date": "1f4c6",
    # Calls and notifications.
    "headphones": "1f3a7",
    "microphone": "1f3a4",
    "phone": "260e",
    "landline": "1f4de",
    "mobile_phone": "1f4f1",
    "video_camera": "1f4f9",
    "movie_camera": "1f3a5",
    "speech_bubble": "1f5e8",
    "mute": "1f507",
    "notifications": "1f514",
    "mute_notifications": "1f515",
    # Signals.
    "check": "2705",
    "cross_mark": "274c",
    "stop_sign": "1f6d1",
    "no_entry": "26d4",
    "prohibited": "1f6ab",
    "warning": "26a0",
    "red_circle": "1f534",
    "+1": "1f44d",
    "thumbs_up": "1f44d",
    "wave": "1f44b",
    "thinking": "1f914",
    "tada": "1f389",
    "fire": "1f525",
    "rocket": "1f680",
    # Weather.
    "sunny": "2600",
    "cloud": "2601",
    "rainy": "1f327",
    "snowflake": "2744",
    "umbrella": "2602",
    "moon": "1f319",
}
