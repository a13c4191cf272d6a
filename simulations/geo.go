package simulations

import (
	"math"
	"time"
)

// capital is where a state's node runs.
type capital struct {
	code     string
	lat, lon float64 // degrees
}

// capitals are the 28 member states of the EU in 2015 (with GB) and the
// US, CA and AU, ordered so that a smaller federation (Options.Nodes below
// 31) still spans both sides of the Atlantic and the Pacific.
var capitals = []capital{
	{"FR", 48.8566, 2.3522},    // Paris
	{"DE", 52.5200, 13.4050},   // Berlin
	{"GB", 51.5074, -0.1278},   // London
	{"US", 38.9072, -77.0369},  // Washington
	{"IT", 41.9028, 12.4964},   // Rome
	{"ES", 40.4168, -3.7038},   // Madrid
	{"NL", 52.3676, 4.9041},    // Amsterdam
	{"AU", -35.2809, 149.1300}, // Canberra
	{"BE", 50.8503, 4.3517},    // Brussels
	{"SE", 59.3293, 18.0686},   // Stockholm
	{"AT", 48.2082, 16.3738},   // Vienna
	{"PL", 52.2297, 21.0122},   // Warsaw
	{"CA", 45.4215, -75.6972},  // Ottawa
	{"IE", 53.3498, -6.2603},   // Dublin
	{"DK", 55.6761, 12.5683},   // Copenhagen
	{"FI", 60.1699, 24.9384},   // Helsinki
	{"PT", 38.7223, -9.1393},   // Lisbon
	{"GR", 37.9838, 23.7275},   // Athens
	{"CZ", 50.0755, 14.4378},   // Prague
	{"HU", 47.4979, 19.0402},   // Budapest
	{"RO", 44.4268, 26.1025},   // Bucharest
	{"BG", 42.6977, 23.3219},   // Sofia
	{"HR", 45.8150, 15.9819},   // Zagreb
	{"SK", 48.1486, 17.1077},   // Bratislava
	{"SI", 46.0569, 14.5058},   // Ljubljana
	{"LT", 54.6872, 25.2797},   // Vilnius
	{"LV", 56.9496, 24.1052},   // Riga
	{"EE", 59.4370, 24.7536},   // Tallinn
	{"LU", 49.6116, 6.1319},    // Luxembourg
	{"CY", 35.1856, 33.3823},   // Nicosia
	{"MT", 35.8989, 14.5146},   // Valletta
}

// greatCircleKm is the haversine distance between two points.
func greatCircleKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// oneWay is the base one-way delay between two places: light in fibre
// covers about 200 km per millisecond, plus 2 ms for the ends (switching,
// TLS records, the kernel). Paris–Berlin is about 6 ms, Paris–Washington
// 33 ms, Paris–Canberra 87 ms.
func oneWay(lat1, lon1, lat2, lon2 float64) time.Duration {
	ms := greatCircleKm(lat1, lon1, lat2, lon2)/200 + 2
	return time.Duration(ms * float64(time.Millisecond))
}
