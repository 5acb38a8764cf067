package model

import "unicode"

// HiddenRune reports a character that text an agent wrote must not show
// to a person as it is: a control character (C0, C1, DEL), or a
// bidirectional-formatting character (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), which could make text read in another
// order than it is written. The web pages and the proposal email drop
// them, the CLI shows them as visible escapes.
func HiddenRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
