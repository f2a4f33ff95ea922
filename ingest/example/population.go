package example

import (
	"math"
	"strconv"
	"strings"
)

// mailbox is the kind of server that answers for a recipient domain; it
// decides the reply texts.
type mailbox uint8

const (
	mbOutlookCom     mailbox = iota // Outlook.com consumer (hotmail/outlook/live/msn)
	mbGmail                         // Gmail and Google Workspace
	mbYahoo                         // Yahoo and AOL
	mbICloud                        // Apple iCloud
	mbOneAndOne                     // GMX and WEB.DE
	mbPostfix                       // a company's own Postfix
	mbPostgrey                      // a company's own Postfix with postgrey greylisting
	mbExchangeOnline                // a company's Microsoft 365 tenant (not Outlook.com)
)

type domainInfo struct {
	name   string
	weight int32 // people per 10,000
	mb     mailbox
}

// domains is the recipients' mix. Microsoft consumer domains are ~17 %; the
// corporate ones use RFC 2606 names. olive.com and delivery.com are added
// separately: a handful of people, matched by the operator's regex.
var domains = []domainInfo{
	{"hotmail.com", 620, mbOutlookCom},
	{"outlook.com", 430, mbOutlookCom},
	{"live.com", 190, mbOutlookCom},
	{"msn.com", 80, mbOutlookCom},
	{"hotmail.co.uk", 90, mbOutlookCom},
	{"hotmail.fr", 60, mbOutlookCom},
	{"hotmail.de", 30, mbOutlookCom},
	{"hotmail.it", 25, mbOutlookCom},
	{"hotmail.es", 25, mbOutlookCom},
	{"hotmail.be", 10, mbOutlookCom},
	{"hotmail.ca", 10, mbOutlookCom},
	{"live.nl", 30, mbOutlookCom},
	{"live.co.uk", 25, mbOutlookCom},
	{"live.fr", 20, mbOutlookCom},
	{"live.be", 5, mbOutlookCom},
	{"outlook.de", 30, mbOutlookCom},
	{"outlook.fr", 20, mbOutlookCom},
	{"outlook.es", 10, mbOutlookCom},

	{"gmail.com", 4000, mbGmail},
	{"googlemail.com", 180, mbGmail},

	{"yahoo.com", 620, mbYahoo},
	{"aol.com", 230, mbYahoo},
	{"yahoo.co.uk", 90, mbYahoo},
	{"yahoo.fr", 50, mbYahoo},
	{"ymail.com", 30, mbYahoo},

	{"icloud.com", 560, mbICloud},
	{"me.com", 140, mbICloud},
	{"mac.com", 40, mbICloud},

	{"gmx.de", 170, mbOneAndOne},
	{"web.de", 170, mbOneAndOne},
	{"gmx.net", 50, mbOneAndOne},

	{"acme.example", 90, mbPostgrey},
	{"globex.example", 80, mbExchangeOnline},
	{"initech.example", 60, mbPostfix},
	{"umbrella.example", 70, mbGmail},
	{"hooli.example", 75, mbGmail},
	{"stark-industries.example", 65, mbExchangeOnline},
	{"wayne-enterprises.example", 60, mbExchangeOnline},
	{"wonka.example", 40, mbPostgrey},
	{"tyrell.example", 55, mbExchangeOnline},
	{"cyberdyne.example", 45, mbPostfix},
	{"soylent.example", 35, mbGmail},
	{"vandelay.example", 40, mbPostgrey},
	{"dunder-mifflin.example", 70, mbExchangeOnline},
	{"piedpiper.example", 45, mbGmail},
	{"aperture.example", 50, mbPostfix},
	{"black-mesa.example", 40, mbPostgrey},
	{"massive-dynamic.example", 55, mbExchangeOnline},
	{"gringotts.example", 30, mbPostfix},
	{"monarch.example", 35, mbGmail},
	{"oscorp.example", 45, mbExchangeOnline},
	{"nakatomi.example", 50, mbExchangeOnline},
	{"prestige-worldwide.example", 25, mbGmail},
	{"bluth.example", 30, mbPostgrey},
	{"sterling-cooper.example", 40, mbExchangeOnline},
	{"los-pollos.example", 25, mbGmail},
	{"krusty-krab.example", 20, mbPostfix},
	{"duff.example", 30, mbPostgrey},
	{"example.org", 60, mbPostfix},
	{"example.net", 50, mbPostfix},
	{"mail.example.org", 25, mbPostgrey},
	{"northwind.example", 80, mbExchangeOnline},
	{"initrode.example", 60, mbPostfix},
	{"wernham-hogg.example", 50, mbExchangeOnline},
	{"virtucon.example", 60, mbGmail},
	{"spacely.example", 50, mbPostgrey},
	{"cogswell.example", 40, mbPostfix},
	{"planet-express.example", 60, mbGmail},
	{"lacuna.example", 40, mbExchangeOnline},
	{"sirius-cybernetics.example", 40, mbPostfix},
	{"yoyodyne.example", 40, mbPostgrey},

	// Not drawn by weight: see population.
	{"olive.com", 0, mbPostfix},
	{"delivery.com", 0, mbGmail},
}

const (
	oliveCom    = "olive.com"
	deliveryCom = "delivery.com"
	nOlive      = 4
	nDelivery   = 3
)

var firstNames = strings.Fields(`james mary john patricia robert jennifer michael linda
william elizabeth david barbara richard susan joseph jessica thomas sarah charles karen
daniel lisa matthew nancy anthony sandra mark ashley paul emily steven donna andrew michelle
oliver emma noah sophie lucas chloe liam julia mateo lena hugo ines leon marie finn anna
jan eva tom lea sam nina ben clara max laura luca alice felix zoe`)

var lastNames = strings.Fields(`smith johnson williams brown jones garcia miller davis
rodriguez martinez hernandez lopez wilson anderson taylor thomas moore jackson martin lee
thompson white harris clark lewis walker hall allen young king wright scott green baker
adams nelson hill campbell mitchell roberts carter phillips evans turner parker collins
edwards stewart morris murphy cook rogers morgan cooper peterson reed bailey bell kelly
muller schmidt schneider fischer weber meyer wagner becker dubois martin bernard petit
durand leroy moreau simon laurent janssen devries bakker visser rossi russo ferrari esposito`)

// State of a person's address on the ESP's suppression lists.
const (
	stOK      uint8 = 0
	stBounced uint8 = 1 // hard-bounced: the ESP drops further mail ("Bounced Address")
	stSpam    uint8 = 2 // reported spam ("Spam Reporting Address")
	stUnsub   uint8 = 3 // unsubscribed through the ESP's link ("Unsubscribed Address")

	stMask uint8 = 0x0f // the suppression state, without flags

	flagPendingComplaint uint8 = 1 << 4 // a spamreport for a delivered message is on its way
)

const neverDead = math.MaxInt64

// addr is a recipient's address packed into one cache line: the renderers
// look one up per row, at random, and a single line per lookup is what keeps
// them fast.
type addr struct {
	b   [maxAddrLen]byte
	n   uint8
	dom uint16
}

const maxAddrLen = 61

func (a *addr) email() []byte { return a.b[:a.n] }

// population holds every recipient, struct-of-arrays to keep it compact.
type population struct {
	addr    []addr
	domain  []uint16
	deadAt  []int64 // from this time the mailbox answers "user unknown"
	state   []uint8
	naive   []bool  // the operator's regex hotmail|live|msn|outlook matches the address
	lastTxn []int32 // last day index with a transactional send (for spike picks)

	nSubscribers int
	quarterMS    [4][]int32 // newsletter batch order, Microsoft recipients
	quarterOther [4][]int32 // newsletter batch order, everyone else
	active       int        // people [active, len) are the frequent app users
}

const (
	nPeople      = 108_000
	nSubscribers = 72_000
	nActive      = 18_000
)

func isMicrosoft(d uint16) bool { return domains[d].mb == mbOutlookCom }

func naiveMatch(s string) bool {
	return strings.Contains(s, "hotmail") || strings.Contains(s, "live") ||
		strings.Contains(s, "msn") || strings.Contains(s, "outlook")
}

func newPopulation(r *source, p *plan) *population {
	var cum []int32
	var idx []uint16
	var total int32
	for i, d := range domains {
		if d.weight == 0 {
			continue
		}
		total += d.weight
		cum = append(cum, total)
		idx = append(idx, uint16(i))
	}
	domainIndex := func(name string) uint16 {
		for i, d := range domains {
			if d.name == name {
				return uint16(i)
			}
		}
		panic("example: unknown domain " + name)
	}

	emails := make([]string, nPeople)
	pop := &population{
		domain:       make([]uint16, nPeople),
		deadAt:       make([]int64, nPeople),
		state:        make([]uint8, nPeople),
		naive:        make([]bool, nPeople),
		lastTxn:      make([]int32, nPeople),
		nSubscribers: nSubscribers,
		active:       nPeople - nActive,
	}
	seen := make(map[string]struct{}, nPeople) // membership only, never iterated
	var b []byte
	for i := range nPeople {
		var d uint16
		switch {
		case i < nOlive:
			d = domainIndex(oliveCom)
		case i < nOlive+nDelivery:
			d = domainIndex(deliveryCom)
		default:
			d = idx[r.pick(cum)]
		}
		for {
			b = appendLocalPart(b[:0], r)
			b = append(b, '@')
			b = append(b, domains[d].name...)
			if _, dup := seen[string(b)]; !dup {
				break
			}
		}
		s := string(b)
		seen[s] = struct{}{}
		emails[i], pop.domain[i], pop.naive[i] = s, d, naiveMatch(s)
		pop.lastTxn[i] = -1
	}
	// Shuffle so that subscribers, quarters and active users are random
	// mixes; olive.com and delivery.com land wherever they land.
	for i := nPeople - 1; i > 0; i-- {
		j := int(r.intn(int64(i + 1)))
		emails[i], emails[j] = emails[j], emails[i]
		pop.domain[i], pop.domain[j] = pop.domain[j], pop.domain[i]
		pop.naive[i], pop.naive[j] = pop.naive[j], pop.naive[i]
	}
	for i := range nPeople {
		pop.deadAt[i] = neverDead
		switch {
		case r.chance(6_000): // bounced before the history: the app never cleaned its list
			pop.state[i] = stBounced
			pop.deadAt[i] = p.start
		case r.chance(2_500):
			pop.state[i] = stUnsub
		case r.chance(2_000): // a typo or long-dead address, first mailed in this history
			pop.deadAt[i] = p.start
		case i < nSubscribers && r.chance(55_000): // list decay: ~0.4 % of a week's sends bounce
			pop.deadAt[i] = r.between(p.start, p.end)
		case i >= nSubscribers && r.chance(15_000):
			pop.deadAt[i] = r.between(p.start, p.end)
		}
	}
	pop.addr = make([]addr, nPeople)
	for i, e := range emails {
		if len(e) > maxAddrLen {
			panic("example: address too long: " + e)
		}
		a := &pop.addr[i]
		a.n, a.dom = uint8(copy(a.b[:], e)), pop.domain[i]
	}
	for i := range nSubscribers {
		q := i % 4
		if isMicrosoft(pop.domain[i]) {
			pop.quarterMS[q] = append(pop.quarterMS[q], int32(i))
		} else {
			pop.quarterOther[q] = append(pop.quarterOther[q], int32(i))
		}
	}
	return pop
}

func appendLocalPart(b []byte, r *source) []byte {
	f := firstNames[r.intn(int64(len(firstNames)))]
	l := lastNames[r.intn(int64(len(lastNames)))]
	switch r.intn(10) {
	case 0, 1, 2:
		b = append(append(append(b, f...), '.'), l...)
	case 3:
		b = append(append(b, f...), l...)
	case 4:
		b = append(append(append(b, f...), '_'), l...)
	case 5:
		b = append(append(append(b, f[0]), '.'), l...)
	case 6:
		b = append(append(append(b, f...), '.'), l...)
		b = strconv.AppendInt(b, r.between(1, 100), 10)
	case 7:
		b = append(b, f...)
		b = strconv.AppendInt(b, r.between(1958, 2008), 10)
	case 8:
		b = append(append(b, f...), l[0])
		b = strconv.AppendInt(b, r.between(1, 1000), 10)
	default:
		b = append(append(append(b, l...), '.'), f...)
	}
	return b
}

// clean reports whether nothing can turn a send to p into anything but a
// first attempt before it happens: used for the spike minutes, whose counts
// are exact.
func (pop *population) clean(p int32, day int32) bool {
	return pop.state[p] == stOK && pop.deadAt[p] == neverDead && pop.lastTxn[p] != day
}
