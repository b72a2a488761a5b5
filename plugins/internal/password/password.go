// Package password generates random passwords from character classes with crypto/rand.
package password

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
)

// Character classes, as pulumi_random documents them.
const (
	Lower          = "abcdefghijklmnopqrstuvwxyz"
	Upper          = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Numeric        = "0123456789"
	DefaultSpecial = "!@#$%&*()-_=+[]{}<>:?"
)

// Options mirror RandomPassword's inputs (defaults: every class on, no minimums).
type Options struct {
	Length                                     int
	Lower, Upper, Numeric, Special             bool
	MinLower, MinUpper, MinNumeric, MinSpecial int
	OverrideSpecial                            *string // replaces DefaultSpecial when set
}

type class struct {
	name, chars string
	enabled     bool
	min         int
}

func (o Options) classes() []class {
	special := DefaultSpecial
	if o.OverrideSpecial != nil {
		special = *o.OverrideSpecial
	}
	return []class{
		{"lower", Lower, o.Lower, o.MinLower},
		{"upper", Upper, o.Upper, o.MinUpper},
		{"numeric", Numeric, o.Numeric, o.MinNumeric},
		{"special", special, o.Special, o.MinSpecial},
	}
}

// Validate says what is wrong with the options and how to fix it.
func (o Options) Validate() error {
	if o.Length < 1 {
		return fmt.Errorf("length must be at least 1 (got %d)", o.Length)
	}
	required, any := 0, false
	for _, c := range o.classes() {
		if c.min < 0 {
			return fmt.Errorf("min%s must not be negative (got %d)", title(c.name), c.min)
		}
		if c.min > 0 && !c.enabled {
			return fmt.Errorf("min%s is %d but %s is false: enable the class or drop the minimum", title(c.name), c.min, c.name)
		}
		if c.enabled && c.chars == "" {
			return errors.New("special is true but overrideSpecial is empty: give characters or set special false")
		}
		required += c.min
		any = any || c.enabled
	}
	if !any {
		return errors.New("every character class (lower, upper, numeric, special) is disabled: enable at least one")
	}
	if required > o.Length {
		return fmt.Errorf("the minimums add up to %d characters, more than length %d: raise length or lower a minimum", required, o.Length)
	}
	return nil
}

func title(s string) string { return string(s[0]-'a'+'A') + s[1:] }

// Generate returns a password honouring o: each class's minimum first, the rest drawn from all
// enabled classes, then shuffled so the guaranteed characters are not at fixed positions.
func Generate(o Options) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	out := make([]byte, 0, o.Length)
	all := ""
	for _, c := range o.classes() {
		if !c.enabled {
			continue
		}
		all += c.chars
		for i := 0; i < c.min; i++ {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	for len(out) < o.Length {
		b, err := pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := randInt(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

func pick(chars string) (byte, error) {
	i, err := randInt(len(chars))
	if err != nil {
		return 0, err
	}
	return chars[i], nil
}

func randInt(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("reading the system's random source: %w", err)
	}
	return int(v.Int64()), nil
}
