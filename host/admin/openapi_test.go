package admin

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPI is the part of openapi.json the test reads.
type openAPI struct {
	OpenAPI    string                          `json:"openapi"`
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas    map[string]json.RawMessage `json:"schemas"`
		Responses  map[string]response        `json:"responses"`
		Parameters map[string]parameter       `json:"parameters"`
	} `json:"components"`
}

type operation struct {
	OperationID string              `json:"operationId"`
	Parameters  []parameter         `json:"parameters"`
	Responses   map[string]response `json:"responses"`
	RequestBody json.RawMessage     `json:"requestBody"`
}

type parameter struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type response struct {
	Ref     string `json:"$ref"`
	Content map[string]struct {
		Schema struct {
			Ref string `json:"$ref"`
		} `json:"schema"`
	} `json:"content"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openapi.json describes exactly the routes that exist, each with its
// path parameters and its error responses.
func TestOpenAPI(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}

	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if !slices.Contains(httpMethods, method) {
				continue // "parameters", "summary", ...
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := Routes()
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in openapi.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("%s is in openapi.json but not served", r)
		}
	}

	resolveResp := func(r response) (response, bool) {
		name, ok := strings.CutPrefix(r.Ref, "#/components/responses/")
		if !ok {
			return r, r.Ref == ""
		}
		res, ok := doc.Components.Responses[name]
		return res, ok
	}
	resolveParam := func(p parameter) (parameter, bool) {
		name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
		if !ok {
			return p, p.Ref == ""
		}
		res, ok := doc.Components.Parameters[name]
		return res, ok
	}
	wildcard := regexp.MustCompile(`\{([^}]+)\}`)
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			name := strings.ToUpper(method) + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", name)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q also names %s", name, op.OperationID, other)
			}
			ids[op.OperationID] = name

			// Every wildcard is a required path parameter, and there
			// are no others.
			var inPath []string
			for _, p := range op.Parameters {
				rp, ok := resolveParam(p)
				if !ok {
					t.Errorf("%s: parameter %q does not resolve", name, p.Ref)
					continue
				}
				if rp.In == "path" {
					inPath = append(inPath, rp.Name)
					if !rp.Required {
						t.Errorf("%s: path parameter %s is not required", name, rp.Name)
					}
				}
			}
			var want []string
			for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
				want = append(want, m[1])
			}
			slices.Sort(inPath)
			slices.Sort(want)
			if !slices.Equal(inPath, want) {
				t.Errorf("%s: path parameters %v, want %v", name, inPath, want)
			}

			// Error responses: those of every request, 404 where the
			// path names something, each with the error schema.
			mustHave := []string{"401", "403", "500", "503"}
			if len(want) > 0 {
				mustHave = append(mustHave, "404")
			}
			if method == "post" && op.RequestBody != nil {
				mustHave = append(mustHave, "400", "413")
			}
			for _, code := range mustHave {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s: no %s response", name, code)
				}
			}
			success := false
			for code, r := range op.Responses {
				if code[0] == '2' {
					success = true
					continue
				}
				rr, ok := resolveResp(r)
				if !ok {
					t.Errorf("%s %s: response %q does not resolve", name, code, r.Ref)
					continue
				}
				if rr.Content["application/json"].Schema.Ref != "#/components/schemas/ErrorBody" {
					t.Errorf("%s %s: not the error schema", name, code)
				}
			}
			if !success {
				t.Errorf("%s: no success response", name)
			}
		}
	}

	// Every schema reference resolves.
	for _, m := range regexp.MustCompile(`"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("schema %s is referenced but not defined", m[1])
		}
	}
	// The error codes are those of the API.
	var errSchema struct {
		Properties struct {
			Code struct {
				Enum []string `json:"enum"`
			} `json:"code"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Error"], &errSchema); err != nil {
		t.Fatal(err)
	}
	codes := []string{CodeBadRequest, CodeInvalid, CodeNotFound, CodeConflict, CodeDenied, CodeUnauthorized,
		CodeForbidden, CodeTooLarge, CodeUnavailable, CodeInternal}
	got := slices.Clone(errSchema.Properties.Code.Enum)
	slices.Sort(got)
	slices.Sort(codes)
	if !slices.Equal(got, codes) {
		t.Errorf("Error.code enum %v, want %v", got, codes)
	}
}
