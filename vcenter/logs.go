package vcenter

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Logs name a request by its method, path and query keys only
// ("GET /api/vcenter/vm?names=…"), at every level, LOG_LEVEL=debug
// included.
//
// Security: query values are names and filters a model chose, and a value
// can be anything pasted where a name was expected, a password included;
// session tokens and the password travel only in headers and bodies, which
// are never logged. Text that comes from the HTTP stack (go-retryablehttp's
// own lines, a *url.Error quoting the whole URL) goes through scrubLog,
// which reduces every URL in it the same way and removes the credentials
// in every form and the session tokens held.

// logPath renders path with its query keys, values elided.
func logPath(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, url.QueryEscape(k)+"=…")
	}
	slices.Sort(keys)
	return path + "?" + strings.Join(keys, "&")
}

// urlInText finds the URLs that net/http and go-retryablehttp quote in
// their errors and log lines.
var urlInText = regexp.MustCompile(`https?://[^\s"'<>]+`)

// scrubLog makes text from the HTTP stack fit for a log line; see above.
func (c *Client) scrubLog(s string) string {
	s = urlInText.ReplaceAllStringFunc(s, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return "<url>"
		}
		return u.Scheme + "://" + u.Host + logPath(u.EscapedPath(), u.Query())
	})
	return c.clean(c.liveTokens()...)(s, 4000)
}

// liveTokens returns the session tokens the client holds now.
func (c *Client) liveTokens() []string {
	sessions := []*session{c.sess}
	c.vimMu.Lock()
	if c.vimSt != nil && c.vimSt.own != nil {
		sessions = append(sessions, c.vimSt.own)
	}
	c.vimMu.Unlock()
	var out []string
	for _, s := range sessions {
		s.mu.Lock()
		if s.token != "" {
			out = append(out, s.token)
		}
		s.mu.Unlock()
	}
	return out
}

// leveledLogger adapts zerolog to go-retryablehttp, at debug level (the
// client logs its own outcomes), scrubbing every value it is given.
type leveledLogger struct{ c *Client }

func (l leveledLogger) Error(msg string, kv ...any) { l.log(msg, kv) }
func (l leveledLogger) Info(msg string, kv ...any)  { l.log(msg, kv) }
func (l leveledLogger) Debug(msg string, kv ...any) { l.log(msg, kv) }
func (l leveledLogger) Warn(msg string, kv ...any)  { l.log(msg, kv) }

func (l leveledLogger) log(msg string, kv []any) {
	ev := l.c.log.Debug()
	if !ev.Enabled() {
		return
	}
	for i := 0; i+1 < len(kv); i += 2 {
		key := fmt.Sprint(kv[i])
		switch v := kv[i+1].(type) {
		case *url.URL:
			ev = ev.Str(key, logPath(v.EscapedPath(), v.Query()))
		case string:
			ev = ev.Str(key, l.c.scrubLog(v))
		case error:
			ev = ev.Str(key, l.c.scrubLog(v.Error()))
		case int, int64, bool:
			ev = ev.Interface(key, v)
		case fmt.Stringer: // time.Duration
			ev = ev.Str(key, l.c.scrubLog(v.String()))
		default:
			ev = ev.Str(key, l.c.scrubLog(fmt.Sprint(v)))
		}
	}
	ev.Msg(msg)
}
