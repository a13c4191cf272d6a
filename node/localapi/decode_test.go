package localapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// call sends one request to the handler and returns the status and the
// decoded error, if any.
func call(t *testing.T, method, route, body string) (int, *wireError) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, "http://vigie"+route, strings.NewReader(body))
	newHandler(fakeBackend{}, quietLog()).ServeHTTP(rec, req)
	var reply struct {
		Error *wireError `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
		t.Fatalf("%s %s: reply is not JSON: %q", method, route, rec.Body.String())
	}
	return rec.Code, reply.Error
}

func TestBadRequestsAreRefusedClearly(t *testing.T) {
	cases := []struct {
		name, method, route, body string
		status                    int
		code, mention             string
	}{
		{"garbage", "POST", routeLookup, "{not json", 400, codeBadRequest, "not a valid request"},
		{"empty", "POST", routeLookup, "", 400, codeBadRequest, "empty body"},
		{"unknown field", "POST", routeLookup, `{"URL":"x","Porpose":"p"}`, 400, codeBadRequest, "unknown field"},
		{"wrong type", "POST", routeAssert, `{"requests":{"URL":1}}`, 400, codeBadRequest, "cannot unmarshal"},
		{"two values", "POST", routeRetract, `{} {}`, 400, codeBadRequest, "more than one JSON value"},
		{"bad CID", "POST", routeRetract, `{"Assertion":{"/":"nope"}}`, 400, codeBadRequest, "not a valid request"},
		{"too large", "POST", routeLookup, `{"URL":"` + strings.Repeat("a", MaxRequestBody) + `"}`, 413, codeTooLarge, "over"},
		{"too many", "POST", routeAssert, `{"requests":[` + strings.Repeat("{},", MaxAssertBatch) + `{}]}`, 413, codeTooLarge, "at most"},
		{"wrong method", "GET", routeLookup, "", 405, codeMethod, "takes POST"},
		{"unknown route", "POST", "/v1/http://secret.example/", "{}", 404, codeNotFound, "no such endpoint"},
		{"node error", "POST", routeLookup, `{"URL":"http://a.example/"}`, 400, codeMissingPurpose, "purpose"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, we := call(t, tc.method, tc.route, tc.body)
			if status != tc.status || we == nil || we.Code != tc.code || !strings.Contains(we.Message, tc.mention) {
				t.Fatalf("status %d, error %+v; want %d, %s mentioning %q", status, we, tc.status, tc.code, tc.mention)
			}
		})
	}
}

// Whatever the body, the server answers with JSON and a definite status,
// and a body that is not JSON is a 400 saying so; it never panics.
func FuzzRequestDecoding(f *testing.F) {
	for _, seed := range []string{
		`{"URL":"http://a.example/","Purpose":"p"}`,
		`{"requests":[{"URL":"http://a.example/","Expires":"2027-01-01T00:00:00Z"}]}`,
		`{"Assertion":{"/":"bafyreigejiy6e7p4qrvnxodwzdv6qrsve5ca6w7jp44fhvu2glowyxgcba"},"Reason":"incorrect"}`,
		`{"requests":null}`, `null`, `[]`, `"x"`, `{"URL":"\ud800"}`, "{\"URL\":\"\xff\"}", `{"Assertion":null}`,
		`{"requests":[{"Categories":[1,2]}]}`, `{"Expires":"yesterday"}`, `{`, ``,
	} {
		f.Add(seed)
	}
	h := newHandler(fakeBackend{}, quietLog())
	f.Fuzz(func(t *testing.T, body string) {
		for _, route := range []string{routeLookup, routeAssert, routeRetract} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://vigie"+route, strings.NewReader(body)))
			var reply map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
				t.Fatalf("%s: reply is not a JSON object: %q", route, rec.Body.String())
			}
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
			default:
				t.Fatalf("%s: status %d for %q", route, rec.Code, body)
			}
			if rec.Code != http.StatusOK && reply["error"] == nil {
				t.Fatalf("%s: status %d without an error", route, rec.Code)
			}
			if !json.Valid([]byte(body)) {
				var we struct{ Error wireError }
				json.Unmarshal(rec.Body.Bytes(), &we)
				if rec.Code != http.StatusBadRequest || we.Error.Code != codeBadRequest || !strings.HasPrefix(we.Error.Message, "localapi: bad request") {
					t.Fatalf("%s: invalid JSON %q gave %d %+v", route, body, rec.Code, we.Error)
				}
			}
		}
	})
}
