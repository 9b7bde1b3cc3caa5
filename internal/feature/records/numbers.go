package records

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/silo-dev/silo/router"
)

// Numbers in record data. MySQL's JSON type keeps an integer exactly only
// within [-2^63, 2^64-1] and turns every other number into a 64-bit double;
// MariaDB keeps JSON as text, digits and all. So that a record holds the
// same values on both servers, its numbers are checked in Go before any
// SQL, and refused (400 VALIDATION_FAILED naming the field) rather than
// silently rounded by one server only:
//
//   - an integer (no fraction, no exponent) must lie in [-2^63, 2^64-1];
//     it is stored in plain digits ("-0" as "0");
//   - any other number must be exactly the value of its shortest double
//     spelling (1.5, 0.1, 1e-7 and 1e300 are; 0.12345678901234567890 and
//     1e400 are not); it is stored in that spelling, with a '.' so that
//     both servers' JSON_TYPE call it a DOUBLE (1.50 as 1.5, 1e2 as 100.0,
//     1e-7 as 1.0e-7).
//
// Numbers that do not fit are sent as strings.
const (
	errInteger = "is an integer outside [-9223372036854775808, 18446744073709551615], which MySQL cannot keep exactly: send it as a string"
	errDouble  = "has more digits than a 64-bit floating-point number keeps, or is beyond its range: send it as a string"
	// maxNumberErrors bounds the fields one answer names.
	maxNumberErrors = 10
)

// numberKind is what a JSON number is stored as.
type numberKind int

const (
	integerNumber numberKind = iota + 1 // an int64 or a uint64
	doubleNumber                        // a 64-bit double
)

// jsonNumber is the syntax of a JSON number.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// canonicalNumber returns the spelling Silo stores number n (JSON number
// syntax) in and its kind, or the reason it is refused.
func canonicalNumber(n string) (string, numberKind, string) {
	if !strings.ContainsAny(n, ".eE") {
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return strconv.FormatInt(i, 10), integerNumber, ""
		}
		if u, err := strconv.ParseUint(n, 10, 64); err == nil {
			return strconv.FormatUint(u, 10), integerNumber, ""
		}
		return "", 0, errInteger
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || !sameDecimal(n, strconv.FormatFloat(f, 'e', -1, 64)) {
		return "", 0, errDouble
	}
	return doubleText(f), doubleNumber, ""
}

// doubleText spells f with its shortest digits and a '.': in plain
// notation from 1e-6 to 1e21, in exponent notation beyond.
func doubleText(f float64) string {
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	return mant + "e" + sign + strings.TrimLeft(exp[1:], "0")
}

// sameDecimal reports whether two JSON numbers have the same value,
// comparing their digits (never expanding an exponent).
func sameDecimal(a, b string) bool {
	an, ad, ap, aok := decimal(a)
	bn, bd, bp, bok := decimal(b)
	if !aok || !bok {
		return false
	}
	if ad == "" || bd == "" { // zero, whatever its sign
		return ad == bd
	}
	return an == bn && ad == bd && ap == bp
}

// decimal returns the value of JSON number n as its sign, significant
// digits (no leading or trailing zeros; "" for zero) and the place of the
// first one: 0.DIGITS × 10^point (1.50 → "15", 1; 0.012 → "12", -1).
func decimal(n string) (neg bool, digits string, point int, ok bool) {
	neg = strings.HasPrefix(n, "-")
	n = strings.TrimPrefix(n, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(n), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	digits = whole + frac
	trimmed := strings.TrimLeft(digits, "0")
	point = len(whole) - (len(digits) - len(trimmed))
	digits = strings.TrimRight(trimmed, "0")
	if digits == "" {
		return neg, "", 0, true
	}
	if hasExp {
		e, err := strconv.Atoi(exp)
		if err != nil || e > 1<<30 || e < -1<<30 {
			return neg, digits, 0, false
		}
		point += e
	}
	return neg, digits, point, true
}

// canonicalNumbers replaces each number of v (a decoded JSON value, with
// json.Number for numbers) by its canonical spelling, and returns the
// fields (paths under data, such as data.items[2].price) whose numbers
// are refused.
func canonicalNumbers(v any, path string, bad []router.FieldError) (any, []router.FieldError) {
	if len(bad) >= maxNumberErrors {
		return v, bad
	}
	switch v := v.(type) {
	case json.Number:
		s, _, msg := canonicalNumber(string(v))
		if msg != "" {
			return v, append(bad, router.FieldError{Field: path, Message: msg})
		}
		return json.Number(s), bad
	case map[string]any:
		for k, e := range v {
			v[k], bad = canonicalNumbers(e, path+"."+k, bad)
		}
	case []any:
		for i, e := range v {
			v[i], bad = canonicalNumbers(e, path+"["+strconv.Itoa(i)+"]", bad)
		}
	}
	return v, bad
}
