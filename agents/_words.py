"""Word lists of the specifics guard (:mod:`agents.specifics`): plain data, no logic.

``COMMON_WORDS`` holds about 3,400 frequent English words: the 3,000 most frequent whole
words of the bundled tokenizer's vocabulary (all-MiniLM-L6-v2, whose WordPiece
vocabulary is ordered by frequency; Apache-2.0), without names of people and places,
plus everyday words of software and customer feedback ("export", "dashboard",
"refactor", "login") and contractions. It answers one question: is a capitalised word
at the start of a sentence just a word ("Customers want ..."), or may it name a product
("Okta SSO ...")? Product names are not in it, except the few that are also common words
(windows, teams, word, office, edge, box, zoom).
"""

from __future__ import annotations

__all__ = [
    "BUSINESS",
    "COMMON_COMPOUNDS",
    "COMMON_WORDS",
    "COMPOUND_PREFIXES",
    "COMPOUND_SUFFIXES",
    "FUNCTION_WORDS",
    "NOT_NAMES",
    "NOT_PLURALS",
    "NOT_SPECIFIC",
    "TINY_WORDS",
    "VERSION_WORDS",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COMMON_WORDS = _words(
    """
    abandoned ability able about above academic academy accelerate accelerators accept
    accepted accepting access accident according account accounts achieved acquired acres
    across act acting action actions activate activating activation active activities
    activity actor actress acts actual actually ad add added adding addition additional
    address addresses adds admin administration administrative admins admitted adopted adult
    advance advanced advantage advertisements affairs affected afraid after afternoon again
    against age aged agency agent aggregate ago agreed agreement agricultural agriculture
    ahead aid air aircraft aired airport alan album albums alert alerts align alive all
    alliance allow allowed allowing allows almost alone along alongside already also
    alternative although always am america americans among amount an analysis analyze
    analyzing ancient and angel anger angry animal animals animation animations anniversary
    announce announced annoyed annoying annual another answer answered anti any anymore
    anyone anything anyway apart apartment app apparently appear appearance appearances
    appeared appears append application applications applied apply appointed approach
    approached approved approximately apps april arab architect architecture archive
    archives are area areas aren aren't arena arent argued arm armed arms army around
    arranged arrested arrived arrow arrows art article articles artillery artist artists
    arts as aside ask asked asking asks ass assembly assigned assist assistance assistant
    associated association assumed async at athletic atlantic attached attachment
    attachments attack attacked attacks attempt attempted attempts attendance attended
    attention attorney audience audit august australian auth authentication author
    authorities authority authorization available avenue average avoid award awarded awards
    aware away awesome baby bachelor back background backing backslash backup backups bad
    bag balance ball band bands bank banks bar barely base baseball based basic basically
    basis basketball bass batch batches battalion battle bay be beach bear beat beautiful
    beauty became because become becomes becoming bed bedroom been beer before began begin
    beginning begins behavior behind being believe believed bell below beneath beside
    besides best better between beyond big biggest bill billboard billing billion bind bird
    birds birth bishop bit black blank block blood blue blues board boat bodies body bold
    bond book bookmark bookmarks books boost border born both bottom bought bound boundary
    bowl box boy boys brain branch branches brand break breaking breath brick bridge brief
    briefly brigade bright bring bringing broad broadcast broadcasting broke broken bronze
    brother brothers brought brown browse browser browsers budget bug buggy bugs build
    building buildings builds built bulk bump bumps bureau buried burned burning bus
    business but button buttons buy by cabinet cache caching calendar call called calling
    calls came camera camp campaign campus can can't canal cancel canceled canceling
    cancelled cancelling cancels cancer candidate candidates cannot cant capable capacity
    cape capital captain capture captured car card cards care career carefully carried carry
    carrying cars cart case cases cash cast castle cat catch category cathedral caught cause
    caused causes causing cave cell cells cemetery census center central centre centuries
    century ceremony certain certainly certificate certificates chain chair chairman
    challenge chamber champion champions championship championships chance change changed
    changes changing channel chapel chapter character characters charge charged chart charts
    chase chat chatbox chats check checkbox checkboxes checkout checksum checksums cheek
    chemical chest chief child children chin china choice choose chose chosen christmas
    church churches circle circuit cities citizens city civil claim claimed claims clarify
    class classes classic classical clean cleanup clear clearly click clicking clicks client
    clients climate clock close closed closely closer clothes cloud club clubs cluster
    clusters co coach coal coast coat code codec codecs coffee cold collect collected
    collection college collision colonel colonial color column columns combat combination
    combine combined come comedy comes comic coming command commander commercial commission
    commissioned committee common commonly communication communications communist
    communities community companies company compared compatibility compatible competed
    competition compilation compile complete completed completely complex composed composer
    computer concept concern concerned concert condition conditions conducted conference
    config configs configurable configuration configure confirmed conflict confused
    confusing congress connected connection conservative consider considered consisted
    consisting consists constant constantly constitution constructed construction contact
    contactless contain contained containing contains contemporary content contest continue
    continued continues continuous contract contrast contributed control controlled
    convention conversation convert converted converting converts cookie cookies cool copies
    copy core corner corporation corps correct corrections corrects cost costs could couldn
    couldn't couldnt council count counter countries country county couple course courses
    court courts cover covered covering covers crash crashed crashes crashing crazy create
    created creating creation credit creek crew cricket crime criminal crisis critical
    critics cross crossed crossing crowd crown cry cultural culture cup current currently
    customer customers customization customize cut cutting cycle dad daily damage damn dance
    dangerous dark darker darkness dashboard dashboards data database databases date dates
    dating daughter day days dead deal dear death debut decades december decided decision
    declare declared decommission decrease decrypt dedicated deep default defaults defeat
    defeated defence defense defined degraded degree degrees delegation delete deleted
    deletes delivered delivery demand democratic density department dependencies dependency
    deploy deployment deprecate deprecated deputy derived described design designated
    designed desire desk desktop despite destroyed details determined develop developed
    developing development device dialog dialogs did didn didn't didnt die died difference
    different difficult digital dinner direct directed direction directly director disable
    disables disabling disappeared discovered discovery disease disk display distance
    distinguished distribution district districts divided division do doc docs doctor
    document documentary documentation documents does doesn doesn't doesnt dog doing
    domestic don don't done dont door doors double doubt down downgrade download downloads
    downtown draft dragon drama draw drawing drawn dream dress dressed drew drink drive
    driver driving drop dropdown dropped drove drug drums dry due duke duplicate duplicates
    during duty dynasty each ear earl earlier early earned earth easier easily east eastern
    easy eat echo economic economy edge edit editing edition editor edits educated education
    educational effect effective effects effort efforts eight either elected election
    elections electric electronic element elementary elements eleven else email emails
    embrace emergency emit emperor empire employed employees empty en enable enables
    enabling encoding encrypt encryption end ended ending ends enemy energy engaged engine
    engineer engineering engines england enhance enhancement enhancements enough ensure
    enter entered entertainment entire entirely entitled entrance entry environment
    environmental episode episodes equal equipment era erasure error errors escape
    especially establish established establishment estate estimated etc even evening event
    events eventually ever every everyone everything evidence evil ex exactly example
    examples except exception exceptions exchange executive exhibition exist existence
    existing expanded expansion expect expected experience experienced explain explained
    explore export exported exporting exports expose express expressed expression extend
    extended extension extensions extensive extra extract extremely eye eyes face faced
    faces facilities facility facing fact factor factory faculty fail failed failing fails
    failure fair faith fall fallback fallen falling falls fame familiar families family
    famous fans far farm fashion fast faster father favorite fear feature featured features
    featuring february federal federation feed feedback feel feeling feelings feet fell
    fellow felt female females festival few fiction field fields fifteen fifth fight fighter
    fighting figure figures file files filesystem filled film films filter filtering filters
    final finally finals finance financial find finding finds fine finger fingers finish
    finished finishing fire fired firm first fish fit five fix fixed fixes fixing flag flat
    fleet flight floor flow flowers fly flying focus focused folder folders folk follow
    followed following follows font fonts food foot football footballer footer for force
    forced forces foreign forest forever forget form formal format formation formed former
    formerly forms fort forward fought found foundation founded founder founding four fourth
    frame francis free freedom freeze freezes frequent frequently fresh friend friendly
    friends from front frozen frustrated frustrating fuel full fully fun function functions
    fund funding funds further future gain gained gallery game games garden gas gate gave
    gaze gene general generally generation generic gently genus get gets getting giant girl
    girls give given gives giving glanced glass global go goal goals goes going gold golden
    golf gone good goods got gotten government governor grabbed grace grade graduate
    graduated grand grant granted graph graphs gray great greater greatest green grew grey
    ground grounds group groups grow growing grown growth guard guards guess guest guide
    guitar gun guns guy guys ha had hadn hadn't hair half hall hand handed handle handling
    hands hang hanging hangs happen happened happy hard harmonize has hasn't hasnt hate have
    haven haven't havent having he he's head headed header headers headquarters heads health
    hear heard hearing heart heat heavily heavy height held hell hello help helped helping
    her here here's heritage hero hers herself hey heyy hi hidden hide high higher highest
    highlight highlighted highly highway hill hills him himself hip hired his historian
    historic historical history hit hits hockey hold holding holds hole holy home homes
    honor hope hoped hopefully hoping horizontal horse horses hospital host hosted hot hotel
    hour hours house household households houses housing how however huge human humans
    hundred hung hunter hurt husband i'd i'll i'm i've ice icon icons idea ideas identified
    identity if ignore ignores illegal im image images immediately impact imperial implement
    implementation implements import importance important importing imports impossible
    improve improved improvement improvements improves in inch inches incident include
    included includes including income inconsistent incorporate incorporated incorrect
    increase increased increasing indeed independence independent index indexes indexing
    indian indicated individual individuals industrial industry infantry influence
    influenced information inhabitants initial initialization initialize initially injured
    injury inner inside inspired install installation installed installer installs instead
    institute institution institutions insufficient insurance integrate integrates
    integration integrations intelligence intended interest interested interests interface
    interfaces interior intermittent intermittently internal international internet
    interrupt interrupting interview into introduce introduced introduction invalid invasion
    investigation investment invited invoice invoices involved iran iron is island islands
    isn isn't isnt issue issued issues it it's items its itself ive january jason jazz jean
    job jobs join joined joining joint jones journal journalist journey judge july jump
    junction june junior junk just justice keep keeping keeps kept key kid kids kill killed
    killing kilometres kind king kingdom kiss kissed kitchen knees knew knife knight know
    knowing knowledge known knows label labor labour lack lady lag lagging laid lake land
    landing lands lane language languages lap large largely larger largest last late latency
    later latest latter laugh laughed launch launched law laws lawyer lay layout lead leader
    leaders leadership leading leads league leak leaked leaking leaks leaned learn learned
    learning least leave leaves leaving led left leg legal legislative legs length less let
    let's lets letter letters level levels liberal libraries library license licenses
    licensing lie lies lieutenant life lifted light lighter lights like liked likely limit
    limited limits line lines link links lip lips list listed listen literary literature
    little live lived lives living ll load loading loads loan local located location
    locations lock locked locking locks log logger logging login logins logout logs long
    longer look looked looking looks lookup lord lose losing loss lost lot loud love loved
    loving low lower lucky lying lyrics machine made magazine magic mail main mainly
    maintain maintained major majority make makes making male males man managed management
    manager manner many map mapped mapping maps march maria marine mark marked market
    marriage married mass massive master match matches material materials matter maximum may
    maybe mayor me mean meaning means meant medal media median medical medicine medium meet
    meeting member members memorial memory men mental mention mentioned menu menus merge
    merged merges merging message met metal method methods metres metropolitan mid middle
    might migrate migrates migration mile miles military mill million mind mine minister
    ministry minnesota minor minute minutes mirror misconfigured misleading misreporting
    miss missed missing mission mix mixed mobile modal mode model models modern modify
    modularize module modules mom moment moments money month months moon more morning most
    mostly mother motion motor mount mountain mountains mouth move moved movement movie
    moving much multi multiple municipal municipality murder museum music musical musician
    musicians must my myself name named names namespace namespaces narrow nation national
    nations native natural nature nav naval navigation navy near nearby nearly necessary
    neck need needed needs negative neighborhood neither network never new newly news
    newspaper next nice night nine no nodded node nodes noise nominated non none nope nor
    normal normally north northeast northern northwest nose not notable note noted notes
    nothing notice noticed notification notifications notify novel november now nuclear null
    number numbers numerous object objects observed obtained occasionally occupied occur
    occurred occurs ocean october odd of off offer offered offering offers office officer
    officers offices official officially officials often oh oil ok okay old older oldest on
    onboarding once one ones online only onto open opened opening opera operate operated
    operating operation operations opinion opportunity opposed opposite opposition
    optimisation optimise optimization optimizations optimize optimizes option options or
    orange orchestra order ordered orders organization organizations organize organized
    origin original originally other others otherwise our out outdated outside outstanding
    over overall overlapping own owned owner pacific pack package packages page pages paid
    pain painted painter painting paintings pair palace pale palm panel panels paper papers
    parallel parallelize parameterize parents parish park parliament parse parser parsing
    part partial partially participated particular particularly parties partner partnership
    parts party pass passed passenger passes passing password passwords past paste pasting
    path patients pattern pay paying payment payments peace peak pending people per percent
    perf perfect perform performance performances performed performing perhaps period
    permanent permission permissions person personal personnel persons phase philosophy
    phishing phone photo photos physical piano pick picked picture pictures piece pieces
    pilot pin pink place placed places plan plane planet planned planning plans plant plants
    plate platform play played player players playing plays please pleasure plot pls plugin
    plugins plus pocket poet poetry point pointed points police policy political politician
    politics pool poor poorly pop pope popular population popup popups port portion position
    positions positive possible possibly post potential power powerful powers practice pre
    preferences premature premier prepared preparing presence present presented president
    presidential press pressed pressing pressure pretty prevent preview previous previously
    price prices pricing priest primarily primary prime prince princess principal print
    printing prints prior prison private prix prize pro probably problem problems process
    processes produce produced producer producing product production productions products
    professional professor program programme programming programs progress project projects
    prominent promise promote promoted promotion proper properties property propose proposed
    protect protected protection protein proved provide provided provides providing province
    provincial proxy prune public publication publish published publishing pull pulled
    pulling purchase purchased purple purpose push pushed put putting qualified quality
    quarter queen queries query question questions queue queues quick quickly quiet quietly
    quite quota quotas quote quotes race races racing radio rail railroad railway rain raise
    raised ran random randomly range rank ranked rare rate rather re reach reached reaching
    reaction read reading ready real reality realize realized really rear reason reasons
    rebase rebuild receive received receiving recent recently recognition recognized
    recommend recommended record recorded recording records recover red reduce reduced
    refactor refactoring refactors referee reference referred refers reform refresh refund
    refunds refused regarded regarding regiment region regional regions register registered
    regression regressions regular related relations relationship relatively release
    released releases relief religion religious reload remain remained remaining remains
    remember remembered remote removal remove removed removes rename renamed renames replace
    replaced replacement replaces replacing replied report reported reporting reports
    represent representative representatives represented representing republic republican
    request requests required rescue research reserve reset residence residents resigned
    resistance resolve resources respect respectively response responsibility responsible
    rest restaurant restore restrict result resulted resulting results retarget retired
    retirement retries retrieved retry retrying return returned returning reuse revealed
    revert reverts review reviews revolution rewrite rich ride right rights ring rise rising
    risk river road roads rock role roles roll rolled rolling roof room rooms rose round
    route row rows royal rugby rule ruled rules run running runs runtime rural safe safety
    said saint salary sale sales same sat saturday save saw say saying says scale scene
    scenes schedule scheduled scheduler school schools science sciences scientific score
    scored scoring scratchpad screen script scripts scroll scrolling sea search searches
    season seasons seat seats second secondary seconds secret secretary section sections
    sector security see seeing seem seemed seems seen selected selection self sell selling
    semi senate senator send sending senior sense sent separate separated september series
    serious serve served server servers serves service services serving session set sets
    setting settings settled settlement setup seven seventh several severe sex sexual shade
    shadow shall shape shaped share shared sharp she she's shifted ship ships shirt shit
    shock shook shooting shop shopping shore short shortly shot should shoulder shoulders
    shouldn't shouldnt show showed showing shown shows shut shutdown sick side sidebar sides
    sight sign signal signed significant signin signup silence silent silver similar simple
    simpler simplify simply since singer singing single singles sir sister sisters sit site
    sites sitting situated situation six sixth size skills skin skip skips sky sleep slid
    slightly slow slower slowly small smaller smell smile smiled snow so soccer social
    society soft softly software sold soldier soldiers solid solo some somebody somehow
    someone something sometimes somewhat somewhere son song songs sons soon sorry sort
    sorting sought soul sound sounded sounds source sources south southeast southern
    southwest space speak speaking special species specific specifically specify speech
    speed spellcheck spelling spend spent spinner spinning spirit split spoke spoken sport
    sports spot spread spring squad squadron square stabilize stadium staff stage stairs
    stale stand standard standardize standards standing stands star stared staring starring
    stars start started starting starts state stated statement states station stations
    status stay stayed steel step stepped steps still stock stomach stone stood stop stopped
    store stores stories storm story straight strange street streets strength strike string
    strip stripping strong struck structure structures stuck student students studied
    studies studio studios study stuff stupid style sub subject subscribe subscription
    subscriptions subsequent subsequently succeeded success successful successfully such
    suddenly suffered suggest suggested suggestion suggestions suit summer sun sunday super
    supplier supply support supported supporting supports supposed supreme sure surface
    surprise surprised surrounded surrounding survey survived sweet swiss sword sync syncing
    syncs system systems tab table tables tabs take taken takes taking talk talking tall
    tank target task tasks taught tax teacher teachers teaching team teams tears technical
    technology teeth television tell telling tells temperature temple temporarily temporary
    ten tennis term terms territory test testcase testing tests text texts than thank thanks
    that that's thats the theater theatre their them theme themes themselves then theory
    there there's therefore theres these they they'll they're they've thick thin thing
    things think thinking third thirty this those though thought thoughts thousand thousands
    thread threadpool threads threat three threw throat throttling through throughout thus
    ticket tickets tidy tied tight time timeout timeouts times tiny tired title titled
    titles to today together toggle toggles told tolerate tomorrow tone tongue tonight too
    took toolbar tooltip tooltips top topping topup total touch touched tour tournament
    toward towards tower town towns township track tracks trade tradition traditional
    traffic trail train trained training trains transaction transactions transfer
    transferred transferring transfers transient transitive translated translation transport
    transportation travel treatment treaty tree trees trial tried tries trip trivial troops
    trophy tropical trouble truck true trunk trust truth try trying tune tuning tunnel
    turkish turn turned turning turns twelve twenty twice two type types typical typically
    typo typos ugly ultimately unable uncle undefined under underground understand
    understanding understood unfinished unfortunately unified union unique unit units
    universal universe university unknown unless unlike unnecessary unrecognized unsure
    until unusable unwanted up update updated updates upgrade upgraded upgrades upload
    uploads upon upper urban us usage use used user username usernames users uses using
    usual usually utilities utility validate validating validation valley value values
    vampire variety various ve vector vectors vehicle vehicles verify version versions
    vertical very via vice victor victory video videos view viewer views village villages
    violence vision visit visited visual visualize visualizing vocals voice volume vote
    voted votes wait waited waiting wake walk walked walker walking wall walls want wanted
    wants war ward warm warn warning warnings wars was wasn wasn't wasnt watch watched
    watching water waters wave way ways we we'd we'll we're we've weak weapon weapons wear
    wearing weather web website wedding week weekend weekly weeks weight weird well went
    were weren weren't west western wet what what's whatever whats wheel when whenever where
    wherever whether which while whispered white who who's whole whom whose why wide widely
    widget widgets wife wild will win wind window windows wine wing wings winner winners
    winning wins winter wish with within without wizard wolf woman women won won't wonder
    wondered wont wood wooden woods word words wore work worked workers working works
    workspace workspaces world worldwide worried worry worse worst worth would wouldn
    wouldn't wouldnt wounded wrapped wrestling write writer writers writing written wrong
    wrote yard yards yeah year years yellow yes yet you you'll you're you've young younger
    your yourself youth zone
    """
) | _words(
    """
    pagination paginate onboarding localization localisation translation translations
    accessibility autocomplete autosave autofill webhook webhooks template templates tag
    tags label labels comment comments mention mentions reaction reactions thread threads
    analytics metric metrics insight insights workflow workflows automation automations
    automate rule rules trigger triggers approval approvals reminder reminders scheduling
    invoicing subscription discount discounts coupon coupons taxes shipping inventory order
    orders checkout cart grouping archiving versioning history provisioning deprovisioning
    sandbox staging offline tablet keyboard shortcut shortcuts hotkey hotkeys branding logo
    avatar profile profiles group groups guest guests visitor visitors session sessions
    lockout retention deletion compliance privacy consent tracking digest newsletter push
    chatbot helpdesk routing assignment escalation tagging labeling macro macros snippet
    snippets canned response responses survey surveys rating ratings review reviews
    spreadsheet spreadsheets preview thumbnail thumbnails storage quota throttling latency
    responsive cell cells formula formulas pivot embedding embed embeds iframe token tokens
    key keys secret secrets scope scopes monitoring observability tracing debugging flaky
    changelog roadmap backlog kanban timeline milestone milestones estimate estimates
    subtask subtasks checklist checklists assignee assignees due recurring timesheet
    timesheets budget budgets expense expenses receipt receipts contract contracts
    signature signatures proposal proposals deal deals pipeline pipelines lead leads contact
    contacts opportunity opportunities forecast forecasts territory territories commission
    commissions calling voicemail recording recordings transcript transcripts meeting
    meetings booking bookings reservation reservations registration attendee attendees
    badge badges noisy noise slow slowness sluggish faster laggy unresponsive flicker
    flickering blurry misaligned overlap overlaps truncated truncation typo typos
    spelling grammar wording copy label tooltip hover focus scrollbar sidebar navbar
    breadcrumb breadcrumbs tabs accordion carousel modal modals toast toasts banner banners
    dropdowns picker pickers datepicker selector selectors checkbox toggle switch slider
    upload uploader download downloader importer exporter connector connectors sync syncs
    synchronization synchronisation realtime notification notifications inbox outbox
    mailbox folder folders bookmark bookmarks shortcut favourites favorites pinned pin
    enforce require requires restrict prevent protect block unblock grant revoke invite
    assign unassign approve reject archive unarchive restore clone share unshare
    personalize personalise localize localise notify remind track measure monitor
    automate connect reconnect disconnect unlink split flag star unstar follow unfollow
    unsubscribe mute unmute snooze attach detach scan confirm decline pause resume retry
    charge bill withdraw deposit calculate recalculate estimate redact anonymize
    anonymise purge mask unmask reorder rearrange resize crop rotate zoom undo redo
    bulk-edit edit rename duplicate preview publish unpublish draft drafts submit
    resubmit reopen close closes assignable editable searchable sortable filterable
    exportable importable configurable customizable customisable shareable printable
    downloadable clickable scrollable resizable readable writable visible invisible
    hidden disabled enabled required optional mandatory available unavailable
    supported unsupported allowed forbidden blocked broken corrupted corrupt missing
    outdated stale duplicate duplicated wrong incorrect inaccurate inconsistent slow
    faster quicker higher lower larger smaller longer shorter better clearer simpler
    native custom advanced basic bulk global local shared private public internal
    external inline nested recurring automatic manual default multiple single
    per every weekly daily monthly yearly hourly nightly quarterly annual annually
    allowlist allowlisting blocklist whitelist blacklist whitelisting
    unable cannot can't won't doesn't isn't
    """
)
"""Frequent English words, lowercase (see the module docstring)."""

FUNCTION_WORDS = _words(
    """
    a an the this that these those my our your their his her its we us they them you i it
    some any all every each no many few several more most such both either neither other
    of to in on at by for from with about over under into onto across after before since
    until than per via and or but nor so yet if as has have had is are was were be been do
    does did can could will would shall should may might must need needs about around only
    just also even still almost nearly roughly approximately maybe perhaps like
    """
)
"""Words before a number that leave it a count ("our 300 users"), unlike a name's
("Chrome 120 crashes")."""

NOT_PLURALS = _words(
    """
    this thus does goes has was is its his yes plus less unless always across perhaps
    whereas besides gas bus status series news analysis basis process access address
    """
)
"""Words ending in ``s`` that are not plural nouns: "version 4 is", "error 500 was"."""

BUSINESS = _words(
    """
    eta etas eod eow eom eoy cob tbd tba tbc fyi asap afaik imo imho btw tldr pto ooo wfh
    poc pocs roi kpi kpis okr okrs arr mrr acv tcv cac ltv nps csat ceo cfo cto coo cio
    ciso cmo cpo vp svp evp pm pms qbr qbrs nda ndas rfp rfps rfi sow msa csm csms sdr sdrs
    bdr bdrs usd eur gbp jpy aud chf inr cny
    """
)
"""Business shorthand, quarters and currency codes: never specifics."""

COMMON_COMPOUNDS = _words(
    """
    built-in add-on add-ons plug-in plug-ins log-in login sign-in sign-on sign-up set-up
    e-mail e-mails e-commerce re-enter re-send re-open re-run re-try opt-in opt-out
    follow-up follow-ups check-in check-out drop-down drop-downs pop-up pop-ups real-time
    up-to-date out-of-date one-time two-factor multi-factor third-party end-user end-users
    end-to-end self-service well-known so-called non-existent co-worker co-workers
    day-to-day year-to-date month-to-month long-term short-term high-level low-level
    read-only write-only full-text full-screen drag-and-drop on-premise on-premises how-to
    to-do to-dos pre-built pre-filled auto-fill auto-complete de-duplicate top-up top-ups
    cash-back cash-out pay-out pay-in in-app in-store on-line off-line open-source
    fine-grained long-running large-scale easy-to-use state-of-the-art one-click on-demand
    time-consuming two-way one-way first-class last-minute must-have nice-to-have
    user-friendly week-over-week month-over-month year-over-year single-sign-on
    """
)
"""Everyday hyphenated words: not component names."""

COMPOUND_PREFIXES = _words(
    "multi non re pre co self auto cross sub semi anti de un mis inter intra post mid e per"
)
"""A hyphenated word starting with one of these is an everyday compound ("multi-currency")."""

COMPOUND_SUFFIXES = _words(
    """
    based like style only enabled related specific friendly ready compatible powered
    driven free wide level side type aware first native backed hosted heavy centric
    """
)
"""Trailing parts that do not name anything: "Okta-based" names Okta."""

NOT_NAMES = _words(
    """
    i i'm i've i'd i'll ok okay hi hello hey thanks thank please dear yes no
    today tomorrow yesterday tonight
    monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    """
)
"""Capitalised mid-sentence without naming a product: the pronoun, greetings, dates."""

NOT_SPECIFIC = _words("eg ie etc vs andor wo na io aka ok asap fyi ps pls tbh imo btw")
"""Keys that look like identifiers or paths but are ordinary abbreviations."""

TINY_WORDS = _words("ok no so to in on at or if is be do go hi my we me up an as by of oh")
"""Two-letter words that, in capitals, are shouted rather than acronyms (AD, UI, IT are)."""

VERSION_WORDS = _words(
    """
    version versions release build error code status ticket issue bug case id number no
    port v rev revision level tier phase step page line row column sprint gen generation
    model series type rfc iso cve jdk api
    """
)
"""Words before a number that make it an identifier, not a count ("error 500 was")."""
