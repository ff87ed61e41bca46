"""Word lists the rules look for, grouped by the kind of unwanted text they betray.

Hangul entries are matched against the *compact* text (no spaces or symbols), so
``대 출`` and ``대~출`` both count as 대출; Latin entries are regex alternatives matched
on the normalised text between word boundaries. Sources: the public smishing warnings
of the Korea Internet & Security Agency (KISA) and the National Police Agency (fines,
parcels, family-in-trouble, messenger patterns), the Information and Communications
Network Act art. 50 (ad marker, free opt-out) and the Korea Communications
Commission's spam reports (gambling, loans, stock "reading rooms"). Each family is one
model feature: a list can grow with a retrain and no code change.
"""

from __future__ import annotations

from typing import Final

from blocking.types import Category

# family -> (category it is evidence for, reason label, Hangul words, space-separated)
HANGUL_FAMILIES: Final[dict[str, tuple[Category, str, str]]] = {
    "gambling": (
        Category.SPAM,
        "gambling vocabulary",
        "스포츠토토 사설토토 토토사이트 토토 카지노 바카라 슬롯 배팅 베팅 먹튀 홀덤 파워볼 "
        "룰렛 첫충 매충 꽁머니 입플 롤링 충전보너스 배당률 메이저사이트 안전놀이터 놀이터 "
        "승부식 잭팟 환전무제한",
    ),
    "loan": (
        Category.SPAM,
        "loan vocabulary",
        "무직자 신용불량 신불자 저신용 당일입금 당일대출 대출 대환 저금리 한도조회 "
        "정부지원자금 햇살론 서민금융 승인률 급전 일수 소액결제현금화 카드깡 연체자 무방문 "
        "무서류 신용조회없이",
    ),
    "adult": (
        Category.SPAM,
        "adult vocabulary",
        "출장안마 출장마사지 조건만남 애인대행 야동 19금 섹스 오피 립카페 만남주선 즉석만남 "
        "성인방송 화상채팅 외로운밤 av배우 얼짱 애인모집",
    ),
    "stock": (
        Category.SPAM,
        "stock-tip vocabulary",
        "리딩방 종목추천 급등주 수익률보장 주식리딩 상한가 세력주 vip방 무료체험방 수익인증 "
        "원금보장 종목상담 작전주 테마주 추천종목 수익보장 목표수익 주식방 무료추천 선취매 "
        "매수추천 수익률 누적수익",
    ),
    "crypto": (
        Category.SPAM,
        "crypto vocabulary",
        "비트코인 가상화폐 가상자산 암호화폐 이더리움 리플 에어드랍 에어드롭 상장예정 코인 "
        "usdt 테더 채굴",
    ),
    "authority": (
        Category.SMISHING,
        "public-body impersonation",
        "과태료 범칙금 경찰청 검찰청 검찰 금감원 금융감독원 국민건강보험 건강보험공단 국세청 "
        "세금환급 환급금 법원 교통위반 위반사항 정부24 국민연금 재난지원금 지원금신청 벌점 "
        "고지서 미납 출석요구 사건번호 수사관 건강검진결과 모바일청첩장 부고 과징금 전자고지 "
        "교통법규 법규위반 단속내역 위반내역 국민비서 빈소확인 부고장 모바일부고 벌금고지",
    ),
    "courier": (
        Category.SMISHING,
        "parcel-delivery impersonation",
        "택배 주소지불명 주소불명 배송조회 배송지 대한통운 우체국 한진택배 로젠택배 롯데택배 "
        "반송 운송장 보관중 미수령 주소확인 수취인 배송불가 주소오류 도로명주소 배송실패 통관",
    ),
    "account": (
        Category.SMISHING,
        "account or payment alarm",
        "본인인증 계정정지 해외결제 결제완료 결제승인 승인완료 이용정지 비정상로그인 보안강화 "
        "개인정보유출 본인아닐시 본인이아닐 결제취소 카드발급 승인거절 명의도용 고객센터로 "
        "접속차단 해외승인 정상처리",
    ),
    "family": (
        Category.SCAM,
        "family-in-trouble pattern",
        "폰고장 폰이고장 액정깨 액정이깨 핸드폰고장 휴대폰고장 폰이깨 폰액정 "
        "수리맡 임시폰 임시번호 문화상품권 구글기프트 기프트카드 인증번호보내 인증번호알려 "
        "인증번호좀 신분증사진 원격앱 앱설치 대신결제 상품권구매 핀번호 통화가안돼 통화안돼 "
        "급하게돈 이번호로 카톡추가 폰보험",
    ),
    "family_opener": (
        Category.SCAM,
        "family-in-trouble opener",
        # "엄마 나 …" opens the scam, but "엄마나 아빠나" (mum or dad) is everyday
        # Korean: alone it is only a model feature; with a family word it is a scam.
        "엄마나 아빠나",
    ),
    "messenger_account": (
        Category.SMISHING,
        "messenger-account impersonation",
        # The 2025 wave: "텔레그램 계정 보안 ... 인증하세요", often sent from abroad.
        "계정보안 계정인증 계정정지 계정이정지 계정잠금 계정이잠 계정삭제 계정차단 계정보호 "
        "계정이용제한 계정확인 로그인시도 비정상접속 보안인증 보안점검 계정이해킹 "
        "계정도용 인증하세요 인증바랍니다 인증해주세요",
    ),
    "notice_act": (
        Category.SMISHING,
        "notice with a call to act",
        "열람하기 열람바랍니다 조회하기 상세내용확인 내역확인 확인하기 바로가기 자세히보기 "
        "확인요망 확인바랍니다 납부하기 조회바랍니다",
    ),
    "messenger": (
        Category.SPAM,
        "messenger contact",
        "카톡아이디 카톡id 카카오톡id 카카오톡아이디 카톡문의 오픈채팅 오픈톡 오픈카톡 텔레그램 "
        "텔레문의 텔레아이디 텔레id 라인아이디 라인id 위챗 친구추가",
    ),
    "ad_words": (
        Category.AD,
        "advertising vocabulary",
        "특가 세일 할인 이벤트 쿠폰 혜택 오픈기념 선착순 무료체험 분양 모델하우스 회원모집 "
        "가입혜택 사은품 증정 당첨 경품 최저가 프로모션 적립 신규가입 상담문의 무료상담 "
        "지금바로 한정수량 단독 행사 구독 수신동의 무료거부 수신거부 무사고",
    ),
    "car": (
        Category.HAM,
        "car context",
        "차좀 차를 차가 차량 주차 빼주 빼줄 빼달 빼야 이동주차 출차 이중주차 막고 막혀 번호판 "
        "접촉 긁혔 긁힌 긁었 블랙박스 보험접수 보험사 수리비 견적 정비 세차 사고 차빼 차앞 "
        "차뒤 후진 입차 나가야 나갈 비켜 전화주세요 전화부탁 죄송 실례",
    ),
}

# family -> (category, reason label, Latin words: space-separated, ``_`` for a space inside)
LATIN_FAMILIES: Final[dict[str, tuple[Category, str, str]]] = {
    "en_prize": (
        Category.SPAM,
        "prize vocabulary",
        "win won winner winners prize prizes claim award awarded guaranteed congratulations "
        "congrats selected bonus cash reward jackpot voucher vouchers lottery draw",
    ),
    "en_premium": (
        Category.SPAM,
        "premium-rate vocabulary",
        "txt ringtone ringtones tone tones 150p 150ppm 150p/msg 1.50 per_min per_msg "
        "custcare t&c t&cs t&c's landline pobox 18+ 16+ subscription subscribe subscribed "
        "unsubscribe optout opt-out mobile_update camera_phone",
    ),
    "en_urgent": (
        Category.SPAM,
        "urgency vocabulary",
        "urgent act_now call_now expires expire expiry final_notice final_attempt valid_12hrs",
    ),
    "en_money": (
        Category.SPAM,
        "money-offer vocabulary",
        "free offer discount credit invest investment profit sex sexy dating hot_girls chat babes",
    ),
    "en_vice": (
        Category.SPAM,
        "gambling, loan or adult vocabulary",
        # English counterpart of the Hangul vice families (gambling ... crypto): these
        # count in the rule floor. A bare "bet" is left out ("I bet ..." is ordinary).
        "casino casinos betting free_bet bet_now sportsbook poker slots roulette baccarat "
        "free_spins loan loans payday lender bitcoin crypto forex xxx escort escorts",
    ),
    "en_phish": (
        Category.SMISHING,
        "account or parcel alarm",
        "account_suspended account_locked verify_your confirm_your parcel package "
        "delivery_failed customs_fee toll unpaid fine refund tax irs security_alert login",
    ),
    "en_messenger": (
        Category.SPAM,
        "messenger name",
        # "teiegram": a capital I for the l, lower-cased ("Te??Ie??gr??am").
        "telegram teiegram telegran teleqram whatsapp kakaotalk",
    ),
    "en_car": (
        Category.HAM,
        "car context",
        "car parked parking park move blocking blocked garage driveway vehicle scratch "
        "scratched dent plate insurance repair repairs bumper mechanic towed tow",
    ),
}

URL_SHORTENERS: Final[frozenset[str]] = frozenset(
    [
        "bit.ly",
        "han.gl",
        "me2.do",
        "vo.la",
        "url.kr",
        "t.ly",
        "tinyurl.com",
        "goo.gl",
        "is.gd",
        "buly.kr",
        "bitly.kr",
        "c11.kr",
        "shorturl.at",
        "cutt.ly",
        "rb.gy",
        "ow.ly",
        "t.co",
        "zrr.kr",
        "link24.kr",
        "abit.ly",
        "durl.me",
        "muz.so",
        "v.ht",
        "2u.pw",
        "me2.kr",
        "lrl.kr",
        "gg.gg",
        "tny.im",
        "bit.do",
        "s.id",
        "hoy.kr",
        "asq.kr",
    ]
)
"""Hosts whose only job is to hide the real destination."""

MAP_HOSTS: Final[frozenset[str]] = frozenset(
    [
        "naver.me",
        "map.naver.com",
        "m.map.naver.com",
        "m.place.naver.com",
        "map.kakao.com",
        "place.map.kakao.com",
        "kko.to",
        "maps.app.goo.gl",
        "maps.google.com",
        "tmap.co.kr",
        "surl.tmap.co.kr",
    ]
)
"""Map and place links a neighbour sends to show where to park; evidence for ham."""

OFFICIAL_DOMAINS: Final[frozenset[str]] = frozenset(
    [
        "go.kr",
        "gov.kr",
        "naver.com",
        "kakao.com",
        "daum.net",
        "google.com",
        "youtube.com",
        "youtu.be",
        "instagram.com",
        "facebook.com",
        "cjlogistics.com",
        "epost.kr",
        "hanjin.com",
        "hanjin.co.kr",
        "lotteglogis.com",
        "ilogen.com",
        "kdexp.com",
        "kbstar.com",
        "kbcard.com",
        "shinhan.com",
        "shinhancard.com",
        "wooribank.com",
        "wooricard.com",
        "hanabank.com",
        "hanacard.co.kr",
        "kebhana.com",
        "nonghyup.com",
        "ibk.co.kr",
        "kakaobank.com",
        "toss.im",
        "samsungcard.com",
        "hyundaicard.com",
        "lottecard.co.kr",
        "coupang.com",
        "ssg.com",
        "11st.co.kr",
        "gmarket.co.kr",
        "auction.co.kr",
        "baemin.com",
        "tmap.co.kr",
        "kakaomobility.com",
        "hi.co.kr",
        "samsungfire.com",
        "dbins.co.kr",
        "kbinsure.co.kr",
        "meritzfire.com",
        "hanwhageneral.com",
    ]
)
"""Domains of public bodies, carriers, banks, card issuers, couriers, insurers and the big
portals (and their subdomains): a genuine notice links here, a lure does not."""

PORTAL_DOMAINS: Final[frozenset[str]] = frozenset(
    [
        "naver.com",
        "kakao.com",
        "daum.net",
        "google.com",
        "youtube.com",
        "youtu.be",
        "instagram.com",
        "facebook.com",
        "coupang.com",
        "ssg.com",
        "11st.co.kr",
        "gmarket.co.kr",
        "auction.co.kr",
        "baemin.com",
    ]
)
"""The official domains anyone can publish on or sell through (blogs, videos, shops):
an ad links here too, so a link here is no sign of a genuine notice."""

MESSENGER_HOSTS: Final[frozenset[str]] = frozenset(
    ["t.me", "telegram.me", "open.kakao.com", "qr.kakao.com", "line.me", "wa.me"]
)

RISKY_TLDS: Final[frozenset[str]] = frozenset(
    [
        "xyz",
        "top",
        "icu",
        "buzz",
        "click",
        "vip",
        "club",
        "online",
        "site",
        "shop",
        "live",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "cc",
        "info",
        "biz",
        "cn",
        "win",
        "bet",
        "casino",
        "fun",
        "cyou",
        "sbs",
        "cfd",
        "kim",
        "game",
        "games",
        "loan",
    ]
)
