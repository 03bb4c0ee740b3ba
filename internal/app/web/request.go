package web

import "github.com/credkeeper/credkeeper/internal/app/view"

// RequestLine is where a person's rotation of the row's credential stands
// (requested, staged, done), with who, when and the ticket; "" when
// nothing was asked.
func (r Row) RequestLine() string {
	return view.RequestLine(view.Request(r.Rotation, r.Pending != ""))
}

// RotationHistory is every step rotations/NAME records for the detail's
// credential.
func (d *Detail) RotationHistory() []view.RotationEventJSON { return view.History(d.Rotation) }
