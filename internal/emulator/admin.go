package emulator

import (
	"encoding/json"
	"net/http"
)

// The admin API, under /_emulator/, lets a demo or a test in another
// process steer the emulator:
//
//	POST   /_emulator/clients   {"id":"…","secrets":["…"],"scopes":["…"]}
//	POST   /_emulator/faults    {"client":"…","kind":"status","status":503}
//	DELETE /_emulator/faults
//	GET    /_emulator/requests?client=ID   {"requests":N}
func (s *Server) registerAdmin() {
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
