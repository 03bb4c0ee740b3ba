package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// The admin API, under /_emulator/, lets a demo or a test in another
// process steer the emulator:
//
//	POST   /_emulator/clients   {"id":"…","secrets":["…"],"scopes":["…"]}
//	POST   /_emulator/faults    {"client":"…","kind":"status","status":503}
//	                            {"client":"…","kind":"echo","encoding":"json"}
//	DELETE /_emulator/faults
//	GET    /_emulator/requests?client=ID   {"requests":N}
//	POST   /_emulator/notices   a webhook receiver: prints each notice it gets
func (s *Server) registerAdmin() {
	s.mux.HandleFunc("POST /_emulator/notices", func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Kind, Credential, Summary, Action string
			Page                              bool
		}
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, "want a credkeeper notice", http.StatusBadRequest)
			return
		}
		page := ""
		if n.Page {
			page = " [PAGE]"
		}
		fmt.Fprintf(s.noticeLog(), "notice received%s: %s: %s What to do: %s\n", page, n.Kind, n.Summary, n.Action)
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("POST /_emulator/clients", func(w http.ResponseWriter, r *http.Request) {
		var c struct {
			ID      string   `json:"id"`
			Secrets []string `json:"secrets"`
			Scopes  []string `json:"scopes"`
			Grants  []string `json:"grants"`
		}
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil || c.ID == "" {
			http.Error(w, "want {\"id\":…,\"secrets\":[…]}", http.StatusBadRequest)
			return
		}
		s.AddClient(Client{ID: c.ID, Secrets: c.Secrets, Scopes: c.Scopes, Grants: c.Grants})
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("POST /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			Client string `json:"client"`
			Fault
		}
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Kind == "" {
			http.Error(w, "want {\"client\":…,\"kind\":…}", http.StatusBadRequest)
			return
		}
		s.InjectFault(f.Client, f.Fault)
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("GET /_emulator/requests", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"requests": s.Requests(r.URL.Query().Get("client"))})
	})
}
