package server

// HasNULEscape exposes hasNULEscape to the external tests.
var HasNULEscape = hasNULEscape
