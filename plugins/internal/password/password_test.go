package password

import (
	"strings"
	"testing"
)

func count(s, chars string) int {
	n := 0
	for _, r := range s {
		if strings.ContainsRune(chars, r) {
			n++
		}
	}
	return n
}

func TestGenerate(t *testing.T) {
	override := "#!"
	tests := []struct {
		name    string
		options Options
		allowed string
		check   func(string) bool
	}{
		{"every class", Options{Length: 32, Lower: true, Upper: true, Numeric: true, Special: true},
			Lower + Upper + Numeric + DefaultSpecial, nil},
		{"no special", Options{Length: 24, Lower: true, Upper: true, Numeric: true}, Lower + Upper + Numeric, nil},
		{"numeric only", Options{Length: 6, Numeric: true}, Numeric, nil},
		{"override special with minimum", Options{Length: 10, Lower: true, Special: true, MinSpecial: 4, OverrideSpecial: &override},
			Lower + override, func(p string) bool { return count(p, override) >= 4 }},
		{"minimums honoured", Options{Length: 8, Lower: true, Upper: true, Numeric: true, Special: true,
			MinLower: 2, MinUpper: 2, MinNumeric: 2, MinSpecial: 2}, Lower + Upper + Numeric + DefaultSpecial,
			func(p string) bool {
				return count(p, Lower) == 2 && count(p, Upper) == 2 && count(p, Numeric) == 2 && count(p, DefaultSpecial) == 2
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 20; i++ {
				p, err := Generate(tt.options)
				if err != nil {
					t.Fatal(err)
				}
				if len(p) != tt.options.Length || count(p, tt.allowed) != len(p) {
					t.Fatalf("password %q: wrong length or characters outside %q", p, tt.allowed)
				}
				if tt.check != nil && !tt.check(p) {
					t.Fatalf("password %q does not meet the minimums", p)
				}
				seen[p] = true
			}
			if tt.options.Length >= 8 && len(seen) < 20 {
				t.Errorf("only %d distinct passwords in 20 draws", len(seen))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	empty := ""
	tests := []struct {
		options Options
		err     string
	}{
		{Options{Length: 0, Lower: true}, "length must be at least 1"},
		{Options{Length: 8}, "every character class"},
		{Options{Length: 4, Lower: true, Upper: true, MinLower: 3, MinUpper: 3}, "add up to 6 characters, more than length 4"},
		{Options{Length: 8, Lower: true, MinUpper: 1}, "minUpper is 1 but upper is false"},
		{Options{Length: 8, Lower: true, MinNumeric: -1}, "minNumeric must not be negative"},
		{Options{Length: 8, Special: true, OverrideSpecial: &empty}, "overrideSpecial is empty"},
	}
	for _, tt := range tests {
		err := tt.options.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.options, err, tt.err)
		}
	}
}
