package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var testParams = Params{Time: 1, MemoryKiB: 64, Threads: 1}

func TestDefaultMatchesSpec(t *testing.T) {
	if Default.Time < 1 || Default.MemoryKiB < 19*1024 || Default.Threads < 1 {
		t.Errorf("Default params %+v are below OWASP's Argon2id minimum", Default)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	for _, p := range []string{"correct horse battery staple", "", "pässwörd€", strings.Repeat("x", 1024), "with\x00nul"} {
		h := mustHash(t, []byte(p), testParams)
		ok, err := Verify([]byte(p), h)
		if err != nil || !ok {
			t.Errorf("Verify(%q, Hash(%q)) = %v, %v", p, p, ok, err)
		}
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	h := mustHash(t, []byte("secret-password"), testParams)
	for _, wrong := range []string{"secret-passworD", "secret-password ", "", "secret-passwor", "secret-password\x00"} {
		ok, err := Verify([]byte(wrong), h)
		if err != nil {
			t.Errorf("Verify(%q): unexpected error %v", wrong, err)
		}
		if ok {
			t.Errorf("Verify(%q) accepted the wrong password", wrong)
		}
	}
}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestHashFormat(t *testing.T) {
	h := mustHash(t, []byte("pw"), testParams)
	m := phc.FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("hash %q is not PHC argon2id", h)
	}
	if m[1] != "64" || m[2] != "1" || m[3] != "1" {
		t.Errorf("params in hash = m=%s,t=%s,p=%s; want m=64,t=1,p=1", m[1], m[2], m[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(m[4])
	if err != nil || len(salt) != 16 {
		t.Errorf("salt %q: %d bytes, %v; want 16", m[4], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(m[5])
	if err != nil || len(key) != 32 {
		t.Errorf("key %q: %d bytes, %v; want 32", m[5], len(key), err)
	}
}

func TestSaltIsPerHash(t *testing.T) {
	a := mustHash(t, []byte("same"), testParams)
	b := mustHash(t, []byte("same"), testParams)
	if a == b {
		t.Fatal("two hashes of the same password are equal: no fresh salt")
	}
	if strings.Split(a, "$")[4] == strings.Split(b, "$")[4] {
		t.Error("salt reused")
	}
}

// The parameters are read from the hash, not from Default: a hash made
// with other costs still verifies, and altering them breaks it.
func TestParamsStoredInHash(t *testing.T) {
	p := Params{Time: 2, MemoryKiB: 256, Threads: 2}
	h := mustHash(t, []byte("pw"), p)
	if !strings.Contains(h, "$m=256,t=2,p=2$") {
		t.Fatalf("hash %q does not carry m=256,t=2,p=2", h)
	}
	if ok, err := Verify([]byte("pw"), h); !ok || err != nil {
		t.Fatalf("Verify with non-default params = %v, %v", ok, err)
	}
	for _, alt := range []string{"$m=128,t=2,p=2$", "$m=256,t=1,p=2$", "$m=256,t=2,p=1$"} {
		h2 := strings.Replace(h, "$m=256,t=2,p=2$", alt, 1)
		if ok, err := Verify([]byte("pw"), h2); ok || err != nil {
			t.Errorf("with params altered to %s: Verify = %v, %v; want false, nil", alt, ok, err)
		}
	}
}

func TestVerifyTamperedKeyOrSalt(t *testing.T) {
	h := mustHash(t, []byte("pw"), testParams)
	parts := strings.Split(h, "$")
	for _, i := range []int{4, 5} {
		b, _ := base64.RawStdEncoding.DecodeString(parts[i])
		b[0] ^= 1
		q := append([]string(nil), parts...)
		q[i] = base64.RawStdEncoding.EncodeToString(b)
		if ok, err := Verify([]byte("pw"), strings.Join(q, "$")); ok || err != nil {
			t.Errorf("part %d tampered: Verify = %v, %v", i, ok, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := mustHash(t, []byte("pw"), testParams)
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	short := base64.RawStdEncoding.EncodeToString(make([]byte, 7))
	cases := map[string]string{
		"empty":            "",
		"garbage":          "not a hash",
		"bcrypt":           "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":          strings.Replace(good, "$argon2id$", "$argon2i$", 1),
		"no leading $":     strings.TrimPrefix(good, "$"),
		"extra part":       good + "$x",
		"missing key":      strings.Join(parts[:5], "$"),
		"wrong version":    strings.Replace(good, "$v=19$", "$v=16$", 1),
		"no version":       strings.Replace(good, "$v=19$", "$$", 1),
		"bad params":       strings.Replace(good, "$m=64,t=1,p=1$", "$m=x,t=1,p=1$", 1),
		"params reordered": strings.Replace(good, "$m=64,t=1,p=1$", "$t=1,m=64,p=1$", 1),
		"zero time":        strings.Replace(good, "t=1,", "t=0,", 1),
		"zero threads":     strings.Replace(good, "p=1$", "p=0$", 1),
		"threads overflow": strings.Replace(good, "p=1$", "p=256$", 1),
		"memory too small": strings.Replace(good, "m=64,t=1,p=1", "m=8,t=1,p=4", 1),
		"memory too big":   strings.Replace(good, "m=64,", fmt.Sprintf("m=%d,", 4<<20+1), 1),
		"time too big":     strings.Replace(good, "t=1,", "t=101,", 1),
		"negative memory":  strings.Replace(good, "m=64,", "m=-64,", 1),
		"salt not b64":     strings.Replace(good, salt, "!!!!", 1),
		"key not b64":      strings.Replace(good, key, "%%%%", 1),
		"salt padded":      strings.Replace(good, salt, salt+"==", 1),
		"short salt":       strings.Replace(good, salt, short, 1),
		"short key":        strings.Replace(good, key, base64.RawStdEncoding.EncodeToString(make([]byte, 15)), 1),
		"empty salt":       strings.Replace(good, "$"+salt+"$", "$$", 1),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := Verify([]byte("pw"), h)
			if ok {
				t.Fatalf("malformed hash %q verified", h)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) err = %v, want ErrMalformed", h, err)
			}
		})
	}
}

func TestDummy(t *testing.T) {
	d := Dummy(testParams)
	if !phc.MatchString(d) {
		t.Fatalf("Dummy hash %q is not PHC argon2id", d)
	}
	if !strings.Contains(d, "$m=64,t=1,p=1$") {
		t.Errorf("Dummy %q does not use the given params", d)
	}
	for _, guess := range []string{"", "password", "0000000000000000"} {
		if ok, err := Verify([]byte(guess), d); ok || err != nil {
			t.Errorf("Verify(%q, Dummy) = %v, %v; want false, nil", guess, ok, err)
		}
	}
	if Dummy(testParams) == d {
		t.Error("two dummies are equal")
	}
}

func FuzzVerify(f *testing.F) {
	good := mustHash(f, []byte("pw"), testParams)
	f.Add([]byte("pw"), good)
	f.Add([]byte("pw"), strings.Replace(good, "p=1", "p=2", 1))
	f.Add([]byte(""), "")
	f.Add([]byte("x"), "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add([]byte("x"), "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add([]byte("x"), "$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add([]byte("x"), "$argon2id$v=19abc$m=64,t=1,p=1xyz$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add([]byte("x"), "$$$$$")
	f.Fuzz(func(t *testing.T, pw []byte, encoded string) {
		// Bound the work a single input may ask for: Verify honours the
		// parameters in the hash (up to m=4 GiB, t=100), which is the
		// point, but would make the fuzzer crawl. Parse them the way a
		// hash states them and skip costly ones.
		if cost, ok := statedCost(encoded); ok && cost > 1<<12 {
			t.Skip("expensive parameters")
		}
		if len(encoded) > 4096 {
			t.Skip("long input")
		}
		ok, err := Verify(pw, encoded)
		if err != nil && ok {
			t.Fatalf("Verify = true with error %v", err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify error %v is not ErrMalformed", err)
		}
		if ok {
			// Anything that verifies must be a well-formed argon2id PHC string.
			if !strings.HasPrefix(encoded, "$argon2id$v=19$") {
				t.Fatalf("verified a hash %q that is not argon2id v19", encoded)
			}
		}
	})
}

// statedCost returns m*t as the hash's parameter field says, ignoring
// anything malformed (which Verify rejects before doing work).
func statedCost(encoded string) (uint64, bool) {
	parts := strings.Split(encoded, "$")
	if len(parts) < 4 {
		return 0, false
	}
	var m, tm uint64
	var p int
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		return 0, false
	}
	return m * max(tm, 1), true
}

func TestTrailingJunkInParamsIsMalformed(t *testing.T) {
	p := Params{Time: 1, MemoryKiB: 64, Threads: 1}
	h := mustHash(t, []byte("pw"), p)
	parts := strings.Split(h, "$")
	for _, bad := range []string{
		strings.Join([]string{parts[0], parts[1], parts[2] + "junk", parts[3], parts[4], parts[5]}, "$"),
		strings.Join([]string{parts[0], parts[1], parts[2], parts[3] + "junk", parts[4], parts[5]}, "$"),
	} {
		if _, err := Verify([]byte("pw"), bad); err != ErrMalformed {
			t.Errorf("Verify(%q) err = %v, want ErrMalformed", bad, err)
		}
	}
}
