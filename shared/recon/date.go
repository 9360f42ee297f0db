package recon

import (
	"errors"
	"slices"
	"strconv"
	"time"
)

// Date is a calendar date with no time zone, as banks and processors report
// arrival and posting dates. It is stored as a day number counted from before
// year 1, so the zero value means "no date" and comparisons are integer compares.
type Date int32

// dateOffset makes every real date positive: day 1 is 0000-03-01.
const dateOffset = 719468 + 1

// ErrDate is returned for anything that is not a real YYYY-MM-DD date.
var ErrDate = errors.New("date must be YYYY-MM-DD")

// DateOf builds a date from its parts; it does not validate (use ParseDate for input).
func DateOf(year, month, day int) Date {
	return Date(daysFromCivil(int64(year), int64(month), int64(day)) + dateOffset)
}

// DateFromTime is the UTC calendar date of t.
func DateFromTime(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return DateOf(y, int(m), d)
}

// ParseDate parses exactly "YYYY-MM-DD" (years 1000-9999) and rejects dates
// that do not exist (2023-02-29). It does not allocate.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, ErrDate
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1000 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, ErrDate
	}
	return DateOf(y, m, d), nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == 0 }

// Days is the number of days since 1970-01-01 (for arithmetic across packages).
func (d Date) Days() int64 { return int64(d) - dateOffset }

// AddDays moves the date by n calendar days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// Civil returns year, month and day.
func (d Date) Civil() (year, month, day int) {
	y, m, dd := civilFromDays(d.Days())
	return int(y), int(m), int(dd)
}

// Weekday of the date.
func (d Date) Weekday() time.Weekday {
	// 1970-01-01 was a Thursday.
	return time.Weekday(floorMod(d.Days()+4, 7))
}

// String renders YYYY-MM-DD ("" for the zero date).
func (d Date) String() string {
	if d == 0 {
		return ""
	}
	b, _ := d.AppendText(make([]byte, 0, 10))
	return string(b)
}

// AppendText implements encoding.TextAppender.
func (d Date) AppendText(b []byte) ([]byte, error) {
	if d == 0 {
		return b, nil
	}
	y, m, dd := d.Civil()
	b = appendPad(b, y, 4)
	b = append(b, '-')
	b = appendPad(b, m, 2)
	b = append(b, '-')
	return appendPad(b, dd, 2), nil
}

func appendPad(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// MarshalText renders YYYY-MM-DD, so JSON and DynamoDB see a plain string.
func (d Date) MarshalText() ([]byte, error) { return d.AppendText(nil) }

// UnmarshalText parses YYYY-MM-DD; an empty string is the zero date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := m - 3
	if m <= 2 {
		mp = m + 9
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// Calendar counts business days: Monday to Friday minus the given bank holidays.
// The zero Calendar has no holidays.
type Calendar struct {
	holidays []int64 // sorted, unique, weekdays only, as Days()
}

// NewCalendar returns a calendar with these bank holidays (weekend dates are ignored).
func NewCalendar(holidays ...Date) Calendar {
	var hs []int64
	for _, h := range holidays {
		if h.IsZero() {
			continue
		}
		if wd := h.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		hs = append(hs, h.Days())
	}
	slices.Sort(hs)
	return Calendar{holidays: slices.Compact(hs)}
}

// Ord is the ordinal of the first business day on or after d. Differences of
// ordinals count business days, and a weekend or holiday date takes the ordinal
// of the next business day (a Saturday posting counts as Monday).
func (c Calendar) Ord(d Date) int32 {
	z := d.Days()
	t := z + 3 // Monday-based weekday index: 1970-01-01 (Thursday) -> 3
	week := floorDiv(t, 7)
	wd := floorMod(t, 7)
	if wd > 5 {
		wd = 5
	}
	ord := week*5 + wd
	if len(c.holidays) > 0 {
		n, _ := slices.BinarySearch(c.holidays, z) // holidays strictly before d
		ord -= int64(n)
	}
	return int32(ord)
}

// IsBusinessDay reports whether d is a weekday that is not a holiday.
func (c Calendar) IsBusinessDay(d Date) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, hol := slices.BinarySearch(c.holidays, d.Days())
	return !hol
}

// BusinessDays is the signed number of business days from a to b.
func (c Calendar) BusinessDays(a, b Date) int { return int(c.Ord(b) - c.Ord(a)) }

// AddBusinessDays returns the business day n business days after (n<0: before)
// the first business day on or after d.
func (c Calendar) AddBusinessDays(d Date, n int) Date {
	for !c.IsBusinessDay(d) {
		d++
	}
	step := Date(1)
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d += step
		if c.IsBusinessDay(d) {
			n--
		}
	}
	return d
}
