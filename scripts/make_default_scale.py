#!/usr/bin/env python3
"""Writes assets/instruments/community-analysis-scale.xlsx, the default scale (社区分析量表).

The .xlsx is the shipped artefact and what designers edit in Excel; this script is how the
team authored it and keeps it reviewable in diffs. Sources for every block are in
shared/domain/scale-and-types.md. Scoring metadata lives in extra columns that ODK tools
ignore: score_dimension, score_reverse, need_group.

    python3 scripts/make_default_scale.py   (needs openpyxl)
"""
import os
import openpyxl
from openpyxl.styles import Font

ZH, EN = "中文 (zh)", "English (en)"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "assets", "instruments", "community-analysis-scale.xlsx")

SURVEY_COLS = [
    "type", "name", f"label::{ZH}", f"label::{EN}", f"hint::{ZH}", f"hint::{EN}",
    "required", f"required_message::{ZH}", f"required_message::{EN}", "relevant", "constraint",
    f"constraint_message::{ZH}", f"constraint_message::{EN}", "appearance", "choice_filter",
    "calculation", "score_dimension", "score_reverse", "need_group", "severity_of", "score_tag",
    "profile", "personal",
]

rows = []


def q(type_, name, zh="", en="", hint=("", ""), required=False, relevant="", constraint="",
      cmsg=("", ""), appearance="", choice_filter="", calculation="", dim="", reverse=False,
      need="", severity_of="", tag="", profile="", personal=False):
    rows.append({
        "type": type_, "name": name, f"label::{ZH}": zh, f"label::{EN}": en,
        f"hint::{ZH}": hint[0], f"hint::{EN}": hint[1],
        "required": "yes" if required else "",
        f"required_message::{ZH}": "此题必答。" if required else "",
        f"required_message::{EN}": "This question needs an answer." if required else "",
        "relevant": relevant, "constraint": constraint,
        f"constraint_message::{ZH}": cmsg[0], f"constraint_message::{EN}": cmsg[1],
        "appearance": appearance, "choice_filter": choice_filter, "calculation": calculation,
        "score_dimension": dim, "score_reverse": "yes" if reverse else "", "need_group": need,
        "severity_of": severity_of, "score_tag": tag, "profile": profile,
        "personal": "yes" if personal else "",
    })


def begin(name, zh, en, relevant=""):
    q("begin group", name, zh, en, relevant=relevant, appearance="field-list")


def end(name):
    rows.append({"type": "end group", "name": name})


def likert(name, zh, en, dim, reverse=False, lst="agree5"):
    q(f"select_one {lst}", name, zh, en, required=True, appearance="likert", dim=dim, reverse=reverse)


# Metadata ODK fills itself; Shequ records the same on the response.
q("start", "start")
q("end", "end")
q("today", "today")

begin("A", "A 基本信息", "A Basic information")
q("note", "a_intro", "以下问题只用于统计，不会单独公开您的个人信息。",
  "These questions are for statistics only; your personal answers are never shown on their own.")
q("integer", "a_age", "您的年龄（周岁）", "Your age (years)", required=True,
  constraint=". >= 16 and . <= 110",
  cmsg=("年龄应在 16 到 110 岁之间。", "Age must be between 16 and 110."), tag="ageing: . >= 60")
q("select_one sex", "a_sex", "您的性别", "Your sex", required=True)
q("select_one tenure", "a_tenure", "您住的房子是", "Your home is", required=True,
  tag="migrant: . = 'renter'")
q("integer", "a_years", "您在本社区住了多少年？（不满一年填 0）",
  "How many years have you lived in this community? (0 if under a year)", required=True,
  constraint=". >= 0 and . <= ${a_age}",
  cmsg=("居住年数不能超过年龄。", "Years lived here cannot exceed your age."))
q("select_one hukou", "a_hukou", "您的户籍", "Your household registration (hukou)", required=True,
  tag="migrant: . = 'other_province' or . = 'none'")
q("select_multiple household", "a_household", "您家里有下列成员吗？（可多选）",
  "Does your household include any of these? (tick all that apply)", required=True,
  constraint="not(selected(., 'none') and count-selected(.) > 1)",
  cmsg=("选了“都没有”就不能再选其他项。", "“None of these” cannot be ticked with other answers."),
  tag="hardship: selected(., 'low_income')")
q("select_one yes_no", "a_party", "您是中共党员吗？", "Are you a member of the Communist Party of China?",
  required=True)
end("A")

begin("B", "B 社区认同", "B Community identity")
q("note", "b_intro", "请说说您对下面说法的同意程度。", "How much do you agree with each statement?")
likert("b1", "我觉得自己属于这个社区。", "I feel I belong to this community.", "identity")
likert("b2", "跟别人说起我住在这里，我感到自豪。", "I am proud to tell people where I live.", "identity")
likert("b3", "如果有机会，我愿意搬离这个社区。", "Given the chance, I would move out of this community.",
       "identity", reverse=True)
likert("b4", "说起这个社区，我常说“我们”，而不是“他们”。",
       "When I talk about this community I say “we” rather than “they”.", "identity")
likert("b5", "我打算在这个社区长期住下去。", "I plan to live in this community for a long time.", "identity")
likert("b6", "这个社区是我生活中重要的一部分。", "This community is an important part of my life.", "identity")
end("B")

begin("C", "C 邻里互动", "C Neighbourly interaction")
likert("c1", "我每周都会和邻居聊聊天。", "I chat with my neighbours at least once a week.", "interaction")
likert("c2", "我会去邻居家串门，邻居也会来我家。", "I visit neighbours at home and they visit me.", "interaction")
likert("c3", "我和邻居之间会互相借东西、帮点小忙。",
       "My neighbours and I lend each other things and do small favours.", "interaction")
likert("c4", "遇到难事，我会找邻居商量。", "When something is hard, I would ask a neighbour for advice.",
       "interaction")
likert("c5", "我不在家时，邻居会帮我代收快递。", "When I am away, a neighbour would take in a parcel for me.",
       "interaction")
end("C")

begin("D", "D 外部联系", "D Links beyond the community")
likert("d1", "我认识居委会的工作人员。", "I know the staff of the residents' committee.", "linkages")
likert("d2", "我参加过街道、驻区单位或社会组织举办的活动。",
       "I have joined activities run by the subdistrict, local units or social organisations.", "linkages")
likert("d3", "办事的时候，我知道该找哪个部门。", "I know which government office to go to for services.",
       "linkages")
likert("d4", "社区遇到困难时，居民能争取到外面的帮助。",
       "When the community has a problem, residents can get help from outside.", "linkages")
likert("d5", "我参加了社区以外的团体（如兴趣团体、校友会、志愿组织）。",
       "I belong to groups outside the community (hobby groups, alumni, volunteer organisations).", "linkages")
end("D")

begin("E", "E 参与与集体效能", "E Participation and collective efficacy")
likert("e1", "如果有孩子逃学在小区里闲逛，邻居会出面管一管。",
       "If children were skipping school and hanging around, neighbours would do something about it.",
       "efficacy")
likert("e2", "如果有人在楼道里乱涂乱画，邻居会出面制止。",
       "If someone were scrawling graffiti in the stairwell, neighbours would stop them.", "efficacy")
likert("e3", "如果小区门口有人打架，邻居会出面劝阻。",
       "If there were a fight at the gate, neighbours would break it up.", "efficacy")
likert("e4", "如果附近的社区服务站要撤掉，居民会一起想办法留住它。",
       "If the nearby community service station were to close, residents would organise to keep it.",
       "efficacy")
likert("e5", "过去一年，您参加居民会议或议事会的情况", "In the past year, how often did you attend residents' meetings or councils?",
       "efficacy", lst="freq5")
likert("e6", "过去一年，您参加社区志愿服务的情况", "In the past year, how often did you volunteer in the community?",
       "efficacy", lst="freq5")
likert("e7", "过去一年，您在业主大会、业委会选举等社区事务中投票或发表意见的情况",
       "In the past year, how often did you vote or speak up in community matters such as owners' meetings or committee elections?",
       "efficacy", lst="freq5")
end("E")

begin("F", "F 公共服务需求", "F Public service needs")
q("select_multiple services", "f_needs", "您家目前需要下列哪些服务？（可多选）",
  "Which of these services does your household need now? (tick all that apply)",
  hint=("没有需要的可以不选。", "Leave blank if none."), need="service")
q("select_one services", "f_top", "其中最迫切的是哪一项？", "Which of these is the most urgent?",
  required=True, relevant="count-selected(${f_needs}) > 1", choice_filter="selected(${f_needs}, name)")
end("F")

begin("G", "G 群体需求", "G Needs of particular groups")
q("select_multiple elderly_needs", "g_elderly", "家中老人需要哪些服务？（可多选）",
  "What services do the older people in your household need? (tick all that apply)",
  relevant="selected(${a_household}, 'elderly')", need="elderly")
q("select_multiple child_needs", "g_children", "家中孩子需要哪些服务？（可多选）",
  "What services do the children in your household need? (tick all that apply)",
  relevant="selected(${a_household}, 'child')", need="children")
q("select_multiple disability_needs", "g_disabled", "家中残疾人需要哪些服务？（可多选）",
  "What services does the person with a disability in your household need? (tick all that apply)",
  relevant="selected(${a_household}, 'disabled')", need="disabled")
q("select_multiple hardship_needs", "g_hardship", "您家最需要哪些帮扶？（可多选）",
  "What support does your household need most? (tick all that apply)",
  relevant="selected(${a_household}, 'low_income')", need="hardship")
q("note", "g_none", "您家没有需要单独了解的群体，请继续。",
  "No particular group in your household needs asking about; please go on.",
  relevant="selected(${a_household}, 'none')")
end("G")

PROBLEMS = [
    ("pets", "不文明养宠（遛狗不牵绳、宠物粪便）", "Pets (unleashed dogs, droppings)"),
    ("posters", "乱贴小广告", "Illegal posters and flyers"),
    ("littering", "乱扔垃圾", "Littering"),
    ("property_service", "物业服务差", "Poor property management"),
    ("illegal_taxis", "黑车揽客", "Unlicensed taxis"),
    ("theft", "偷盗", "Theft"),
    ("noise", "噪音扰民", "Noise"),
    ("group_renting", "群租", "Overcrowded group renting"),
    ("green_plots", "毁绿种菜", "Vegetable plots on green space"),
    ("illegal_building", "违章搭建", "Illegal building"),
    ("parking", "停车难、乱停车", "Parking shortage and disorderly parking"),
]

begin("H", "H 社区问题", "H Problems in the community")
q("select_multiple problems", "h_problems", "您觉得本社区存在下列哪些问题？（可多选）",
  "Which of these problems does this community have? (tick all that apply)",
  hint=("没有的可以不选。", "Leave blank if none."), need="problem")
for code, zh, en in PROBLEMS:
    q("select_one severity", f"h_sev_{code}", f"“{zh}”这个问题有多严重？", f"How serious is “{en}”?",
      required=True, relevant=f"selected(${{h_problems}}, '{code}')", appearance="likert",
      severity_of=code)
q("calculate", "h_count", calculation="count-selected(${h_problems})")
end("H")

begin("I", "I 资源", "I Resources")
q("integer", "i_volunteer_hours", "您每月愿意为社区做几个小时志愿服务？（不愿意填 0）",
  "How many hours a month would you volunteer for the community? (0 if none)", required=True,
  constraint=". >= 0 and . <= 200",
  cmsg=("请填 0 到 200 之间的小时数。", "Enter between 0 and 200 hours."), profile="resources")
q("select_multiple skills", "i_skills", "您有哪些可以为社区出力的技能？（可多选）",
  "Which of your skills could help the community? (tick all that apply)",
  relevant="${i_volunteer_hours} > 0", profile="resources")
q("select_one yes_no", "i_venue", "您或您的单位能为社区活动提供场地吗？",
  "Could you or your employer offer a venue for community activities?", required=True,
  profile="resources")
q("select_one yes_no", "i_contacts", "您能为社区联系到外部资源（单位、组织、专家）吗？",
  "Could you connect the community with outside resources (employers, organisations, experts)?",
  required=True, profile="resources")
q("text", "i_contacts_detail", "请简单说说是哪些资源。", "Briefly, which resources?",
  relevant="${i_contacts} = 'yes'", profile="resources", personal=True)
end("I")

begin("J", "J 建议", "J Suggestions")
q("text", "j_suggestions", "您对社区工作还有什么意见和建议？",
  "Any other comments or suggestions for the community's work?", appearance="multiline", profile="suggestions")
end("J")

AGREE5 = [("1", "非常不同意", "Strongly disagree"), ("2", "不同意", "Disagree"),
          ("3", "说不清", "Neither agree nor disagree"), ("4", "同意", "Agree"),
          ("5", "非常同意", "Strongly agree")]
FREQ5 = [("1", "从未参加", "Never"), ("2", "一两次", "Once or twice"), ("3", "有时", "Sometimes"),
         ("4", "经常", "Often"), ("5", "每次都参加", "Every time")]
CHOICES = {
    "agree5": AGREE5,
    "freq5": FREQ5,
    "yes_no": [("yes", "是", "Yes"), ("no", "否", "No")],
    "sex": [("male", "男", "Male"), ("female", "女", "Female")],
    "tenure": [("owner", "自有住房", "Owned"), ("renter", "租住", "Rented"),
               ("public_tenant", "公房承租", "Public housing tenancy"),
               ("family", "借住亲友家", "Living with relatives or friends"), ("other", "其他", "Other")],
    "hukou": [("local_district", "本区户籍", "Registered in this district"),
              ("local_city", "本市其他区户籍", "Registered elsewhere in this city"),
              ("other_province", "外省市户籍", "Registered in another province"),
              ("none", "无户籍或不便回答", "None, or prefer not to say")],
    "household": [("elderly", "60 岁及以上老人", "People aged 60 or over"),
                  ("child", "14 岁及以下儿童", "Children aged 14 or under"),
                  ("disabled", "残疾人", "A person with a disability"),
                  ("low_income", "低保或低收入家庭", "Low-income or minimum-living-allowance household"),
                  ("none", "都没有", "None of these")],
    "services": [("property", "物业和业委会服务", "Property management and owners' committee services"),
                 ("public_facilities", "改善公共设施", "Better public facilities"),
                 ("repairs", "居家维修", "Home repairs"),
                 ("surroundings", "小区周边配套", "Shops and services around the estate"),
                 ("info_hotline", "生活信息和服务热线", "Daily-life information and hotline"),
                 ("culture_sports", "文体活动设施", "Culture and sports facilities"),
                 ("waste_sorting", "垃圾分类指导", "Waste-sorting guidance"),
                 ("health_check", "健康体检", "Health check-ups"),
                 ("elderly_meals", "老年助餐", "Meals for older people"),
                 ("childcare", "托育和儿童看护", "Childcare"),
                 ("parking", "停车", "Parking"),
                 ("lift", "加装电梯", "Lift installation"),
                 ("employment", "就业帮扶", "Help finding work")],
    "elderly_needs": [("meals", "助餐送餐", "Meals and meal delivery"),
                      ("home_visits", "上门探访", "Home visits"),
                      ("day_care", "日间照料", "Day care"),
                      ("medical_escort", "陪同就医", "Escort to medical appointments"),
                      ("emergency_call", "紧急呼叫设备", "Emergency call device"),
                      ("activities", "老年文体活动", "Activities for older people")],
    "child_needs": [("after_school", "课后看护", "After-school care"),
                    ("holiday_care", "寒暑假托管", "Holiday care"),
                    ("safe_play", "安全的游戏场地", "Safe places to play"),
                    ("tutoring", "学业辅导", "Help with schoolwork"),
                    ("parenting", "家庭教育指导", "Parenting support")],
    "disability_needs": [("accessibility", "无障碍设施", "Accessibility improvements"),
                         ("rehab", "康复服务", "Rehabilitation"),
                         ("employment", "就业支持", "Employment support"),
                         ("respite", "照护者喘息服务", "Respite for carers")],
    "hardship_needs": [("employment", "就业", "Finding work"),
                       ("income", "增加收入", "More income"),
                       ("assistance", "申请救助", "Applying for assistance"),
                       ("counselling", "心理疏导", "Counselling")],
    "problems": [(c, z, e) for c, z, e in PROBLEMS],
    "severity": [("1", "轻微", "Minor"), ("2", "比较严重", "Fairly serious"), ("3", "很严重", "Very serious")],
    "skills": [("repair", "家电维修", "Appliance repair"), ("medical", "医疗护理", "Medical care"),
               ("legal", "法律咨询", "Legal advice"), ("teaching", "教育辅导", "Teaching and tutoring"),
               ("arts", "文艺特长", "Arts and performance"), ("it", "电脑和手机", "Computers and phones"),
               ("cooking", "烹饪", "Cooking"), ("other", "其他", "Other")],
}


def main():
    wb = openpyxl.Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(SURVEY_COLS)
    for r in rows:
        survey.append([r.get(c, "") for c in SURVEY_COLS])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", f"label::{ZH}", f"label::{EN}"])
    for list_name, items in CHOICES.items():
        for name, zh, en in items:
            choices.append([list_name, name, zh, en])
    settings = wb.create_sheet("settings")
    settings.append(["form_id", "version", "form_title", "default_language"])
    settings.append(["community_analysis_scale", "2026.2", "社区分析量表", ZH])
    for ws in (survey, choices, settings):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    wb.save(OUT)
    print(f"wrote {OUT}: {len(rows)} survey rows")


if __name__ == "__main__":
    main()
